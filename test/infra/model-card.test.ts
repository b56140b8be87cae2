import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MODEL_CARD_PATH, readModelVersion } from '../../infra/lib/model-card.ts';

/** The shipped card with some fields changed (or removed, with undefined). */
const shipped = JSON.parse(readFileSync(MODEL_CARD_PATH, 'utf8')) as Record<string, unknown>;
const cardWith = (over: Record<string, unknown>) => JSON.stringify({ ...shipped, ...over });

describe('readModelVersion', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenscreen-card-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads "version" from the card', () => {
    const card = join(dir, 'tiramisu.card.json');
    writeFileSync(card, cardWith({ version: '2026.11.24-compact320' }));

    expect(readModelVersion('unversioned', card)).toEqual({ version: '2026.11.24-compact320', source: 'card' });
  });

  it('falls back when the card does not exist (yet)', () => {
    expect(readModelVersion('unversioned', join(dir, 'missing.json'))).toEqual({ version: 'unversioned', source: 'fallback' });
  });

  it.each([
    ['that is not JSON', '{ not json', /Expected the model card at .*tiramisu\.card\.json to be JSON but could not parse it/],
    ['without a version', cardWith({ version: undefined }), /Expected a valid model card at .*tiramisu\.card\.json: version: expected a non-empty string but received nothing/],
    ['with an empty version', cardWith({ version: '' }), /Expected a valid model card at .*: version: expected a non-empty string but received ""/],
    ['without its input spec', cardWith({ input: undefined }), /Expected a valid model card at .*: input: expected an object but received nothing/],
  ])('refuses a card %s (the same reader as the worker)', (_what, content, message) => {
    const card = join(dir, 'tiramisu.card.json');
    writeFileSync(card, content);

    expect(() => readModelVersion('unversioned', card)).toThrow(message);
  });
});

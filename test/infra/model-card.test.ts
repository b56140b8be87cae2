import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readModelVersion } from '../../infra/lib/model-card.ts';

describe('readModelVersion', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenscreen-card-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads "version" from the card', () => {
    const card = join(dir, 'tiramisu.card.json');
    writeFileSync(card, JSON.stringify({ name: 'tiramisu', version: '2026.11.24-compact320' }));

    expect(readModelVersion('unversioned', card)).toEqual({ version: '2026.11.24-compact320', source: 'card' });
  });

  it('falls back when the card does not exist (yet)', () => {
    expect(readModelVersion('unversioned', join(dir, 'missing.json'))).toEqual({ version: 'unversioned', source: 'fallback' });
  });

  it.each([
    ['{ not json', /Expected .*tiramisu\.card\.json to be JSON but could not parse it/],
    ['{"name":"tiramisu"}', /Expected .*tiramisu\.card\.json to have a non-empty string "version" but received undefined/],
    ['{"version":""}', /non-empty string "version" but received ""/],
  ])('refuses a card %s', (content, message) => {
    const card = join(dir, 'tiramisu.card.json');
    writeFileSync(card, content);

    expect(() => readModelVersion('unversioned', card)).toThrow(message);
  });
});

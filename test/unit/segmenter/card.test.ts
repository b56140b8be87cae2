import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelCard } from '#segmenter/card';

const SHIPPED = new URL('../../../models/tiramisu.card.json', import.meta.url);
const shipped = JSON.parse(readFileSync(SHIPPED, 'utf8')) as Record<string, unknown>;

describe('parseModelCard (the one card reader: worker, page, infra)', () => {
  it('reads the shipped card from its text and keeps the fields it does not name', () => {
    const card = parseModelCard(readFileSync(SHIPPED, 'utf8'), 'models/tiramisu.card.json');
    expect(card).toMatchObject({ name: 'tiramisu', input: { layout: 'NCHW', longSide: 320 }, output: { activation: 'sigmoid' } });
    expect(card).toHaveProperty('opset', shipped.opset);
  });

  it("reads a card's own subject rule", () => {
    expect(parseModelCard({ ...shipped, subject: { maxArea: 0.002, minConfidence: 0.62 } }, 'c.json').subject).toEqual({ maxArea: 0.002, minConfidence: 0.62 });
  });

  it('reads a card already parsed (as fetched by the page)', () => {
    expect(parseModelCard(shipped, 'model/card.json').version).toBe(shipped.version);
  });

  it.each([
    ['not JSON', '{ nope', 'Expected the model card at c.json to be JSON but could not parse it: '],
    ['a checksum that is not SHA-256', { ...shipped, sha256: 'abc' }, 'Expected a valid model card at c.json: sha256: expected a SHA-256 (64 lower-case hex digits) but received "abc"'],
    [
      'a layout other than NCHW and a threshold over 1',
      { ...shipped, threshold: 2, input: { ...(shipped.input as object), layout: 'NHWC' } },
      'Expected a valid model card at c.json: input.layout: expected "NCHW" but received "NHWC"; threshold: expected a number from 0 to 1 but received 2',
    ],
    ['an array', [], 'Expected a valid model card at c.json: (card): expected an object but received []'],
    [
      'a subject rule out of range',
      { ...shipped, subject: { maxArea: 0.01, minConfidence: 1.5 } },
      'Expected a valid model card at c.json: subject: expected a rule { maxArea, minConfidence }, each a number from 0 to 1 but received {"maxArea":0.01,"minConfidence":1.5}',
    ],
  ])('refuses %s, saying where and what', (_what, json, message) => {
    expect(() => parseModelCard(json, 'c.json')).toThrow(message);
  });
});

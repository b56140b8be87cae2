import { describe, expect, it } from 'vitest';
import { cropBox, fitSize, subjectBox } from '#segment/outputs';
import { decideSubject, subjectEvidence } from '#segmenter/subject';

describe('subjectBox / cropBox / fitSize', () => {
  const W = 20;
  const H = 10;
  const mask = new Uint8Array(W * H);
  for (let y = 3; y <= 6; y++) for (let x = 5; x <= 9; x++) mask[y * W + x] = 200;
  mask[0] = 127; // below the subject threshold

  it('boxes the pixels at or above 128', () => {
    expect(subjectBox(mask, W, H)).toEqual({ left: 5, top: 3, width: 5, height: 4 });
    expect(subjectBox(new Uint8Array(W * H), W, H)).toBeUndefined();
  });

  it.each([
    [{ margin: 2, unit: 'px' as const }, { left: 3, top: 1, width: 9, height: 8 }],
    [{ margin: 40, unit: 'percent' as const }, { left: 3, top: 1, width: 9, height: 8 }], // 40 % of 5 = 2 px
    [{ margin: 100, unit: 'px' as const }, { left: 0, top: 0, width: W, height: H }], // clamped to the photo
  ])('grows the box by %j, clamped to the photo', (crop, box) => {
    expect(cropBox(subjectBox(mask, W, H)!, crop, W, H)).toEqual(box);
  });

  it('scales down to the long side, never up', () => {
    expect(fitSize(4000, 3000, 2000)).toEqual({ width: 2000, height: 1500 });
    expect(fitSize(400, 300, 2000)).toEqual({ width: 400, height: 300 });
    expect(fitSize(400, 300)).toEqual({ width: 400, height: 300 });
  });
});

describe('subject evidence', () => {
  it.each([
    ['nothing at >= 0.5', [0, 10, 127, 100], 'none'],
    ['a region the model is unsure of', [150, 180, 190, 0], 'none'], // mean confidence 0.68
    ['a confident region', [250, 240, 255, 0], 'person'],
  ])('%s -> %s', (_name, probs, outcome) => {
    expect(decideSubject(subjectEvidence(Uint8Array.from(probs)))).toBe(outcome);
  });

  it.each([
    ['a region no larger than maxArea', [250, 240, 0, 0, 0, 0, 0, 0, 0, 0], 'none'], // area 0.2
    ['a larger region, confident enough', [250, 240, 230, 0, 0, 0, 0, 0, 0, 0], 'person'], // area 0.3, confidence 0.94
    ['a larger region, not confident enough', [130, 140, 150, 0, 0, 0, 0, 0, 0, 0], 'none'], // confidence 0.55
  ])('by a rule of its own (maxArea 0.2, minConfidence 0.6): %s -> %s', (_name, probs, outcome) => {
    expect(decideSubject(subjectEvidence(Uint8Array.from(probs)), { maxArea: 0.2, minConfidence: 0.6 })).toBe(outcome);
  });
});

import { describe, expect, it } from 'vitest';
import type { EdgePostProcess } from '#segmenter/mask-curve';
import type { InputPlan, Pixels, SegmenterCard } from '#segmenter/segmentation';
import { composeSegmenter, inferUnbatched, type Inferred, type SegmenterRuntime } from '#segmenter/segmenter';

const card: SegmenterCard = {
  input: { name: 'image', longSide: 320, sizeMultiple: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], padValue: 0 },
  output: { name: 'probability' },
  threshold: 0.5,
};

/** A 40 x 20 photo: red on the left half, black on the right. */
function photo(): Pixels {
  const data = new Uint8Array(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) data[(y * 40 + x) * 3] = x < 20 ? 255 : 0;
  return { data, width: 40, height: 20, channels: 3 };
}

/** A runtime whose model answers a fixed 8-bit map and whose upsampling records its calls. */
function fakeRuntime(map: (plan: InputPlan) => Uint8Array) {
  const upsampled: { plan: InputPlan; width: number; post: EdgePostProcess }[] = [];
  const runtime: SegmenterRuntime<Uint8Array> = {
    infer: async (pre): Promise<Inferred> => ({ map: map(pre.plan) }),
    upsample: async (_map, plan, p, post) => {
      upsampled.push({ plan, width: p.width, post });
      return new Uint8Array(p.width * p.height).fill(7);
    },
    empty: (w, h) => new Uint8Array(w * h),
  };
  return { runtime, upsampled };
}

describe('composeSegmenter (the one path: pre-process, model, subject rule, upsampling and curve)', () => {
  it('upsamples a confident map with the post-processing it was given', async () => {
    // Arrange
    const { runtime, upsampled } = fakeRuntime((plan) => new Uint8Array(plan.width * plan.height).fill(230));
    const post = { haze: { lo: 0.1, hi: 0.9 } };

    // Act
    const s = await composeSegmenter(card, runtime, post).segment(photo());

    // Assert
    expect(s.subject).toBe('person');
    expect(s.plan).toEqual({ width: 320, height: 160, paddedWidth: 320, paddedHeight: 160 });
    expect(upsampled).toEqual([{ plan: s.plan, width: 40, post }]);
    expect([s.mask.length, s.mask[0]]).toEqual([40 * 20, 7]);
    expect(s.map.length).toBe(320 * 160);
    expect(Object.keys(s.timingsMs)).toEqual(['preprocess', 'inference', 'upsample']);
  });

  it.each([
    ['nothing reaches 0.5', 100],
    ['the found region is not confident (mean below 0.77)', 150],
  ])('serves an empty mask without upsampling when %s', async (_why, level) => {
    // Arrange
    const { runtime, upsampled } = fakeRuntime((plan) => new Uint8Array(plan.width * plan.height).fill(level));

    // Act
    const s = await composeSegmenter(card, runtime).segment(photo());

    // Assert
    expect(s.subject).toBe('none');
    expect(upsampled).toEqual([]);
    expect(s.mask.length).toBe(40 * 20);
    expect(s.mask.every((v) => v === 0)).toBe(true);
    expect(Object.keys(s.timingsMs)).toEqual(['preprocess', 'inference']);
  });

  it("decides by the card's own subject rule when it carries one", async () => {
    // A small region at 0.9 (0.5 % of the map): a person by the default rule, nobody by a rule calibrated to ignore such blobs
    const blob = (plan: InputPlan) => new Uint8Array(plan.width * plan.height).map((_, i) => (i < 256 ? 230 : 0));
    const byDefault = await composeSegmenter(card, fakeRuntime(blob).runtime).segment(photo());
    const calibrated = await composeSegmenter({ ...card, subject: { maxArea: 0.01, minConfidence: 0.6 } }, fakeRuntime(blob).runtime).segment(photo());
    expect([byDefault.subject, calibrated.subject]).toEqual(['person', 'none']);
  });
});

describe('inferUnbatched', () => {
  it('runs pre-processed pixels through any runtime and keeps the probabilities when asked', async () => {
    // Arrange: a "model" that answers the red channel's sign (normalised) as the probability.
    const seen: number[][] = [];
    const run = async (input: Float32Array, dims: readonly [number, number, number, number]) => {
      seen.push([...dims]);
      const [, , h, w] = dims;
      return input.slice(0, h * w).map((v) => (v > 0 ? 1 : 0));
    };
    const { runtime } = fakeRuntime(() => new Uint8Array());

    // Act
    const s = await composeSegmenter(card, { ...runtime, infer: inferUnbatched(card, run, { keepProbabilities: true }) }).segment(photo());

    // Assert
    expect(seen).toEqual([[1, 3, 160, 320]]);
    expect([s.map[0], s.map[150], s.map[170], s.map[319]]).toEqual([255, 255, 0, 0]);
    expect(s.probabilities?.length).toBe(320 * 160);
    expect([s.probabilities![0], s.probabilities![170]]).toEqual([1, 0]);
    expect(s.modelMs).toBeGreaterThanOrEqual(0);
  });

  it('leaves the probabilities out by default', async () => {
    const run = async (_input: Float32Array, dims: readonly [number, number, number, number]) => new Float32Array(dims[2] * dims[3]).fill(1);
    const { runtime } = fakeRuntime(() => new Uint8Array());
    const s = await composeSegmenter(card, { ...runtime, infer: inferUnbatched(card, run) }).segment(photo());
    expect(s.probabilities).toBeUndefined();
    expect(s.subject).toBe('person');
  });
});

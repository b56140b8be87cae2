import { describe, expect, it } from 'vitest';
import { assembleBatch, extractProbability, InferenceBatcher, planInput, preprocess } from '#segment/inference';
import type { ModelCard } from '#segment/model-card';
import type { ModelSession } from '#segment/model';

const card = {
  name: 'tiramisu',
  version: 't',
  architecture: 'x',
  preset: 'compact',
  file: 'x.onnx',
  sha256: '0'.repeat(64),
  parameters: 1,
  input: { name: 'image', layout: 'NCHW', colorSpace: 'sRGB', longSide: 320, sizeMultiple: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], padValue: 0 },
  output: { name: 'probability', activation: 'sigmoid' },
  threshold: 0.5,
} as ModelCard;

describe('planInput', () => {
  it.each([
    [550, 822, { width: 214, height: 320, paddedWidth: 224, paddedHeight: 320 }],
    [4000, 3000, { width: 320, height: 240, paddedWidth: 320, paddedHeight: 256 }],
    [1, 10000, { width: 1, height: 320, paddedWidth: 32, paddedHeight: 320 }],
    [10000, 1, { width: 320, height: 1, paddedWidth: 320, paddedHeight: 32 }],
    [100, 100, { width: 320, height: 320, paddedWidth: 320, paddedHeight: 320 }],
  ])('%ix%i keeps the aspect ratio, long side = card.longSide, padded to the multiple', (w, h, expected) => {
    expect(planInput(w, h, card)).toEqual(expected);
  });
});

describe('preprocess', () => {
  it('normalises with the card mean/std and pads with padValue', async () => {
    const img = { rgb: Buffer.alloc(320 * 300 * 3, 255), width: 320, height: 300 };
    const { plan, tensor } = await preprocess(img, card);
    expect(plan).toEqual({ width: 320, height: 300, paddedWidth: 320, paddedHeight: 320 });
    const plane = 320 * 320;
    expect(tensor[0]).toBeCloseTo((1 - 0.5) / 0.25, 5); // white, channel 0
    expect(tensor[2 * plane + 299 * 320 + 319]).toBeCloseTo(2, 5); // last real pixel, channel 2
    expect(tensor[300 * 320]).toBe(0); // first padded row
  });
});

describe('assembleBatch / extractProbability', () => {
  it('pads every item to the largest size in the batch and crops it back', () => {
    const a = { plan: { width: 2, height: 2, paddedWidth: 2, paddedHeight: 2 }, tensor: new Float32Array(12).fill(1) };
    const b = { plan: { width: 3, height: 1, paddedWidth: 4, paddedHeight: 1 }, tensor: new Float32Array(12).fill(2) };
    const { data, dims } = assembleBatch([a, b], -1);
    expect(dims).toEqual([2, 3, 2, 4]);
    expect([...data.subarray(0, 8)]).toEqual([1, 1, -1, -1, 1, 1, -1, -1]);
    expect([...data.subarray(24, 32)]).toEqual([2, 2, 2, 2, -1, -1, -1, -1]);
    const out = new Float32Array(2 * 2 * 4).map((_, i) => (i % 4) / 4);
    expect([...extractProbability(out, 1, 2, 4, b.plan)]).toEqual([0, 64, 128]);
  });
});

describe('InferenceBatcher', () => {
  it('runs what is waiting together (dynamic batching) and resolves each item with its own map', async () => {
    const runs: number[] = [];
    const session: ModelSession = {
      provider: 'cpu',
      threadIds: [],
      async run(input, dims) {
        runs.push(dims[0]);
        await new Promise((r) => setTimeout(r, 10));
        const [n, , h, w] = dims;
        const out = new Float32Array(n * h * w);
        for (let i = 0; i < n; i++) out.fill(input[i * 3 * h * w]!, i * h * w, (i + 1) * h * w);
        return out;
      },
      release: async () => undefined,
    };
    const batcher = new InferenceBatcher(session, card, 4);
    const item = (v: number) => ({ plan: { width: 1, height: 1, paddedWidth: 32, paddedHeight: 32 }, tensor: new Float32Array(3 * 32 * 32).fill(v) });
    const results = await Promise.all([0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((v) => batcher.infer(item(v))));
    expect(results.map((r) => r[0])).toEqual([26, 51, 77, 102, 128, 153]);
    expect(runs).toEqual([1, 4, 1]);
    expect(batcher.stats.items).toBe(6);
  });

  it('rejects every item of a failed batch (the jobs go back to the queue)', async () => {
    const session: ModelSession = { provider: 'cpu', threadIds: [], run: async () => { throw new Error('boom'); }, release: async () => undefined };
    const batcher = new InferenceBatcher(session, card, 2);
    const item = { plan: { width: 1, height: 1, paddedWidth: 32, paddedHeight: 32 }, tensor: new Float32Array(3 * 32 * 32) };
    await expect(batcher.infer(item)).rejects.toThrow('boom');
  });
});

import { describe, expect, it } from 'vitest';
import { extractProbability, InferenceBatcher, preprocess } from '#segment/inference';
import type { ModelSession } from '#segment/model-session';
import { testCard } from '#test/model-card';

const card = testCard({ version: 't', input: { longSide: 320, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });

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

describe('extractProbability', () => {
  it('crops item n of a padded batch output to its plan, as bytes', () => {
    const plan = { width: 3, height: 1, paddedWidth: 4, paddedHeight: 1 };
    const out = new Float32Array(2 * 2 * 4).map((_, i) => (i % 4) / 4);
    const prob = extractProbability(out, 1, 2, 4, plan);
    expect(Buffer.isBuffer(prob)).toBe(true);
    expect([...prob]).toEqual([0, 64, 128]);
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

  it('batches only photos of the same padded size, so a mask never depends on its batch companions', async () => {
    const shapes: string[] = [];
    const session: ModelSession = {
      provider: 'cpu',
      threadIds: [],
      async run(_input, dims) {
        shapes.push(`${dims[0]}x${dims[2]}x${dims[3]}`);
        await new Promise((r) => setTimeout(r, 10));
        return new Float32Array(dims[0] * dims[2] * dims[3]);
      },
      release: async () => undefined,
    };
    const batcher = new InferenceBatcher(session, card, 4);
    const item = (h: number, w: number) => ({ plan: { width: w, height: h, paddedWidth: w, paddedHeight: h }, tensor: new Float32Array(3 * h * w) });
    // the first runs alone; then portrait, landscape, portrait, portrait, landscape are waiting
    await Promise.all([item(64, 32), item(64, 32), item(32, 64), item(64, 32), item(64, 32), item(32, 64)].map((i) => batcher.infer(i)));
    expect(shapes).toEqual(['1x64x32', '3x64x32', '2x32x64']);
  });

  it('rejects every item of a failed batch (the jobs go back to the queue)', async () => {
    const session: ModelSession = { provider: 'cpu', threadIds: [], run: async () => { throw new Error('boom'); }, release: async () => undefined };
    const batcher = new InferenceBatcher(session, card, 2);
    const item = { plan: { width: 1, height: 1, paddedWidth: 32, paddedHeight: 32 }, tensor: new Float32Array(3 * 32 * 32) };
    await expect(batcher.infer(item)).rejects.toThrow('boom');
  });
});

describe('createSegmenter (the shipped model)', () => {
  it('turns a decoded photo into a soft mask at its size, through the same steps as the worker', async () => {
    // Arrange
    const { readFile } = await import('node:fs/promises');
    const { decodeImage } = await import('#segment/image');
    const { cardPathFor, loadModelCard } = await import('#segment/model-card');
    const { createSegmenter, upsampleMask } = await import('#segment/inference');
    const img = await decodeImage(await readFile(new URL('../../fixtures/resize/photo.jpg', import.meta.url)), { maxPixels: 1e8 });
    const segmenter = await createSegmenter(await loadModelCard(cardPathFor('tiramisu')), { provider: 'cpu', threads: 1 });

    try {
      // Act
      const out = await segmenter.segment(img);
      const pre = await preprocess(img, segmenter.card);
      const byHand = await upsampleMask(await segmenter.batcher.infer(pre), pre.plan, img); // the upsampling step (mask-upsampling.ts)

      // Assert
      expect(out.plan).toEqual({ width: 206, height: 320, paddedWidth: 224, paddedHeight: 320 });
      expect(out.mask.length).toBe(img.width * img.height);
      expect(out.mask.equals(byHand)).toBe(true);
      expect(out.subject).toBe('person');
      expect(Object.keys(out.timingsMs)).toEqual(['preprocess', 'inference', 'upsample']);
    } finally {
      await segmenter.release();
    }
  });
});

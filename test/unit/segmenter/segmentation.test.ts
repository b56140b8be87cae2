import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  assembleBatch,
  planInput,
  preprocess,
  probabilitiesToMask,
  resizeBilinear,
  roundHalfEven,
  toTensor,
  type Pixels,
  type SegmenterCard,
} from '#segmenter/segmentation';

const card: SegmenterCard = {
  input: { name: 'image', longSide: 320, sizeMultiple: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], padValue: 0 },
  output: { name: 'probability' },
  threshold: 0.5,
};
const FIXTURES = new URL('../../fixtures/resize/', import.meta.url);

interface ResizeMeta {
  pillow: string;
  cases: { source: string; longSide: number; width: number; height: number; expected: string }[];
  sizes: [number, number, number, number, number][];
}
const meta = JSON.parse(await readFile(new URL('meta.json', FIXTURES), 'utf8')) as ResizeMeta;

async function pixelsOf(file: string): Promise<Pixels> {
  const { data, info } = await sharp(await readFile(new URL(file, FIXTURES))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

describe('the pure module', () => {
  it('imports nothing (a browser page bundles it as it is)', async () => {
    const source = await readFile(new URL('../../../functions/segmenter/segmentation.ts', import.meta.url), 'utf8');
    expect(source.match(/^\s*(import|export .* from)\b.*$/gm) ?? []).toEqual([]);
    expect(source).not.toMatch(/\brequire\(|\bimport\(/);
  });
});

describe('roundHalfEven / planInput', () => {
  it.each([[212.5, 212], [213.5, 214], [0.5, 0], [1.5, 2], [212.4999, 212], [212.5001, 213], [7, 7]])('round(%f) = %i, as Python', (v, r) => {
    expect(roundHalfEven(v)).toBe(r);
  });

  it.each([
    [550, 822, { width: 214, height: 320, paddedWidth: 224, paddedHeight: 320 }],
    [4000, 3000, { width: 320, height: 240, paddedWidth: 320, paddedHeight: 256 }],
    [1, 10000, { width: 1, height: 320, paddedWidth: 32, paddedHeight: 320 }],
    [10000, 1, { width: 320, height: 1, paddedWidth: 320, paddedHeight: 32 }],
    [100, 100, { width: 320, height: 320, paddedWidth: 320, paddedHeight: 320 }],
  ])('%ix%i keeps the aspect ratio, long side = card.longSide, padded to the multiple', (w, h, expected) => {
    expect(planInput(w, h, card)).toEqual(expected);
  });

  it.each(meta.sizes)('%ix%i at long side %i is %ix%i, as models/datasets.py computes it', (w, h, longSide, ow, oh) => {
    const plan = planInput(w, h, { input: { ...card.input, longSide } });
    expect([plan.width, plan.height]).toEqual([ow, oh]);
  });

  it('refuses an empty image with its size', () => {
    expect(() => planInput(0, 10, card)).toThrow('Expected the image to be a positive whole number of pixels but received 0x10');
  });
});

describe('resizeBilinear', () => {
  it.each(meta.cases)(`matches Pillow ${meta.pillow} bit for bit: $source to $width x $height`, async (c) => {
    // Arrange: Pillow's own output for the same bytes (models/make_resize_fixture.py).
    const source = await pixelsOf(c.source);
    const expected = await pixelsOf(c.expected);

    // Act
    const actual = resizeBilinear(source, c);

    // Assert
    expect([actual.width, actual.height, actual.channels]).toEqual([c.width, c.height, 3]);
    let maxDiff = 0;
    for (let i = 0; i < actual.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual.data[i]! - expected.data[i]!));
    expect(maxDiff).toBe(0);
  });

  it('resizes RGBA (a canvas) like RGB in its colour channels', async () => {
    const rgb = await pixelsOf('photo.png');
    const rgba = new Uint8Array(rgb.width * rgb.height * 4);
    for (let i = 0, j = 0; i < rgb.data.length; i += 3, j += 4) rgba.set([rgb.data[i]!, rgb.data[i + 1]!, rgb.data[i + 2]!, 255], j);
    const a = resizeBilinear(rgb, { width: 40, height: 62 });
    const b = resizeBilinear({ ...rgb, data: rgba, channels: 4 }, { width: 40, height: 62 });
    const colour = b.data.filter((_, i) => i % 4 !== 3);
    expect(Buffer.from(colour).equals(Buffer.from(a.data))).toBe(true);
    expect(b.data.filter((_, i) => i % 4 === 3).every((v) => v === 255)).toBe(true);
  });

  it('keeps a flat image flat in both directions (weights sum to one)', () => {
    const flat = { data: new Uint8Array(7 * 5 * 3).fill(200), width: 7, height: 5, channels: 3 };
    for (const to of [{ width: 3, height: 2 }, { width: 19, height: 11 }, { width: 7, height: 9 }, { width: 2, height: 5 }]) {
      expect([...new Set(resizeBilinear(flat, to).data)]).toEqual([200]);
    }
  });

  it('says what it expected when the buffer does not match the size', () => {
    expect(() => resizeBilinear({ data: new Uint8Array(10), width: 2, height: 2, channels: 3 }, { width: 1, height: 1 })).toThrow(
      'Expected 2x2x3 = 12 bytes of pixels but received 10',
    );
  });
});

describe('toTensor / preprocess', () => {
  it('normalises with the card mean/std and pads with padValue', () => {
    const img = { data: new Uint8Array(320 * 300 * 3).fill(255), width: 320, height: 300, channels: 3 };
    const { plan, tensor } = preprocess(img, card);
    expect(plan).toEqual({ width: 320, height: 300, paddedWidth: 320, paddedHeight: 320 });
    const plane = 320 * 320;
    expect(tensor[0]).toBeCloseTo((1 - 0.5) / 0.25, 5); // white, channel 0
    expect(tensor[2 * plane + 299 * 320 + 319]).toBeCloseTo(2, 5); // last real pixel, channel 2
    expect(tensor[300 * 320]).toBe(0); // first padded row
  });

  it('reads RGBA and leaves alpha out', () => {
    const plan = { width: 1, height: 1, paddedWidth: 2, paddedHeight: 1 };
    const t = toTensor({ data: new Uint8Array([0, 128, 255, 7]), width: 1, height: 1, channels: 4 }, plan, { input: { ...card.input, padValue: -9 } });
    expect([...t].map((v) => Number(v.toFixed(4)))).toEqual([-2, -9, Number(((128 / 255 - 0.5) / 0.25).toFixed(4)), -9, 2, -9]);
  });

  it('refuses pixels that are not at the plan size', () => {
    const plan = planInput(10, 10, card);
    expect(() => toTensor({ data: new Uint8Array(300), width: 10, height: 10, channels: 3 }, plan, card)).toThrow(
      'Expected RGB(A) pixels at 320x320 (the plan) but received 10x10x3',
    );
  });
});

describe('assembleBatch / probabilitiesToMask', () => {
  it('pads every item to the largest size in the batch and crops it back', () => {
    const a = { plan: { width: 2, height: 2, paddedWidth: 2, paddedHeight: 2 }, tensor: new Float32Array(12).fill(1) };
    const b = { plan: { width: 3, height: 1, paddedWidth: 4, paddedHeight: 1 }, tensor: new Float32Array(12).fill(2) };
    const { data, dims } = assembleBatch([a, b], -1);
    expect(dims).toEqual([2, 3, 2, 4]);
    expect([...data.subarray(0, 8)]).toEqual([1, 1, -1, -1, 1, 1, -1, -1]);
    expect([...data.subarray(24, 32)]).toEqual([2, 2, 2, 2, -1, -1, -1, -1]);
    const out = new Float32Array(2 * 2 * 4).map((_, i) => (i % 4) / 4);
    expect([...probabilitiesToMask(out, 1, 2, 4, b.plan)]).toEqual([0, 64, 128]);
  });

  it('clamps probabilities outside [0, 1]', () => {
    const plan = { width: 3, height: 1, paddedWidth: 3, paddedHeight: 1 };
    expect([...probabilitiesToMask(new Float32Array([-0.5, 1.5, 0.5]), 0, 1, 3, plan)]).toEqual([0, 255, 128]);
  });

  it('refuses an output too small for the plan', () => {
    const plan = { width: 3, height: 2, paddedWidth: 4, paddedHeight: 2 };
    expect(() => probabilitiesToMask(new Float32Array(8), 1, 2, 4, plan)).toThrow(
      'Expected at least 2 probability maps of 4x2 covering 3x2 but received 8 values',
    );
  });
});

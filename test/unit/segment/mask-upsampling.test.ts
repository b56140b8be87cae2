import { describe, expect, it } from 'vitest';
import { applyHazeCurve } from '#segmenter/mask-curve';
import { guidedUpsample, upsampleWithCurve } from '#segment/mask-upsampling';
import { maskAtOriginal, upsampleMask } from '#segment/inference';

describe('haze curve', () => {
  it('sends alpha at or below lo to 0 and at or above hi to 255, linear between', () => {
    const m = applyHazeCurve(Buffer.from([0, 30, 51, 102, 128, 153, 204, 230, 255]), { lo: 0.2, hi: 0.8 });
    expect([...m]).toEqual([0, 0, 0, 85, 128, 170, 255, 255, 255]);
  });

  it('is done in libvips with the upsampling, within one level of the lookup table', async () => {
    const w = 50;
    const h = 40;
    const prob = Buffer.from(Array.from({ length: w * h }, (_, i) => (i * 37) % 256));
    const plan = { width: w, height: h, paddedWidth: w, paddedHeight: h };
    const table = applyHazeCurve(Buffer.from(await maskAtOriginal(prob, plan, 130, 97)), { lo: 0.2, hi: 0.8 });
    const served = await upsampleMask(prob, plan, { rgb: Buffer.alloc(130 * 97 * 3), width: 130, height: 97 });
    const direct = await upsampleWithCurve(prob, plan, 130, 97, { lo: 0.2, hi: 0.8 });
    expect(served.equals(direct)).toBe(true);
    for (let i = 0; i < table.length; i++) expect(Math.abs(table[i]! - direct[i]!)).toBeLessThanOrEqual(1);
  });
});

describe('guided upsampling', () => {
  it("puts the edge where the photo's edge is, where bilinear upsampling blurs it", async () => {
    // Photo: dark left, bright right, edge between x = 59 and 60 (full res 120 x 40).
    const W = 120;
    const H = 40;
    const rgb = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.fill(x < 60 ? 30 : 220, (y * W + x) * 3, (y * W + x) * 3 + 3);
    // The model's map at 1/4 size: subject on the right, with a soft 3-pixel ramp.
    const w = 30;
    const h = 10;
    const prob = Buffer.alloc(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) prob[y * w + x] = x < 14 ? 0 : x > 16 ? 255 : (x - 13) * 64;
    const plan = { width: w, height: h, paddedWidth: w, paddedHeight: h };
    const bilinear = await maskAtOriginal(prob, plan, W, H);
    const guided = await guidedUpsample(prob, { width: w, height: h }, { rgb, width: W, height: H }, { radius: 2, eps: 1e-3 });
    const soft = (m: Buffer) => [...m.subarray(20 * W, 21 * W)].filter((v) => v > 25 && v < 230).length; // one row's edge band
    expect(soft(guided)).toBeLessThan(soft(bilinear));
    expect(guided[20 * W + 55]).toBeLessThan(40); // dark side: background
    expect(guided[20 * W + 64]).toBeGreaterThan(180); // bright side: subject
  });
});

/** The default outputs (renderOutputs, codecs): what the PNGs hold, pixel by pixel, on small images made here. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_SPEC } from '#core/output-options';
import { encodeMaskPng } from '#segment/codecs';
import { renderOutputs } from '#segment/outputs';

const W = 37;
const H = 23;
const N = W * H;
const rgb = Buffer.from(Array.from({ length: N * 3 }, (_, i) => (i * 31 + 7) & 255));
// Left third transparent, the rest a ramp that includes 1 and 255.
const mask = Buffer.from(Array.from({ length: N }, (_, i) => (i % W < 12 ? 0 : 1 + ((i * 13) % 255))));

async function rawOf(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, width: info.width, height: info.height };
}

describe('renderOutputs (defaults: transparent PNG)', () => {
  it('writes RGBA at the original size with alpha = mask, RGB kept where visible and zeroed where not', async () => {
    const out = await rawOf((await renderOutputs({ rgb, width: W, height: H }, mask, DEFAULT_OUTPUT_SPEC)).cutout!);

    expect([out.width, out.height, out.channels]).toEqual([W, H, 4]);
    for (let i = 0; i < N; i++) {
      const px = [...out.data.subarray(i * 4, i * 4 + 4)];
      const want = mask[i] === 0 ? [0, 0, 0, 0] : [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], mask[i]];
      if (px.join() !== want.join()) expect({ pixel: i, px }).toEqual({ pixel: i, px: want });
    }
  });

  it('multiplies the mask by the photo’s own alpha when it has one', async () => {
    const alpha = Buffer.from(Array.from({ length: N }, (_, i) => (i % 2 ? 255 : 128)));
    const out = await rawOf((await renderOutputs({ rgb, alpha, width: W, height: H }, mask, DEFAULT_OUTPUT_SPEC)).cutout!);

    for (let i = 0; i < N; i++) {
      const a = Math.round((mask[i]! * alpha[i]!) / 255);
      expect(out.data[i * 4 + 3]).toBe(a);
      if (a === 0) expect([...out.data.subarray(i * 4, i * 4 + 3)]).toEqual([0, 0, 0]);
    }
  });
});

describe('encodeMaskPng', () => {
  it('writes an 8-bit single-channel PNG holding the soft mask exactly', async () => {
    const png = await encodeMaskPng(mask, W, H);
    const meta = await sharp(png).metadata();
    const grey = await sharp(png).extractChannel(0).raw().toBuffer(); // sharp would expand grey to sRGB

    expect([meta.format, meta.channels, meta.depth]).toEqual(['png', 1, 'uchar']);
    expect(Buffer.compare(grey, mask)).toBe(0);
  });
});

/**
 * decodeImage against every awkward input (made on the fly by harness/images.ts): each ends
 * in upright 8-bit sRGB pixels of the right size or in a specific error, and nothing that is not a
 * raster image we support ever reaches a decoder.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '#core/errors';
import { decodeImage, sniffFormat, type DecodedImage } from '#segment/image';
import { startHttpRecorder, type HttpRecorder } from '#harness/http-recorder';
import { badInputs, hostileSvg, orientedJpeg, readPhoto, uprightReference, type BadInput, type RawImage } from '#harness/images';

const LIMITS = { maxPixels: 40_000_000 };

let probe: HttpRecorder;
let inputs: BadInput[];
let upright: RawImage;

beforeAll(async () => {
  probe = await startHttpRecorder();
  const photo = await readPhoto(0);
  inputs = await badInputs({ photo, probeUrl: probe.origin });
  upright = await uprightReference(photo, 120);
}, 60_000);

afterAll(() => probe?.close());

const input = (name: string) => {
  const found = inputs.find((i) => i.name === name);
  if (!found) throw new Error(`no test input named ${name}`);
  return found;
};

async function outcome(bytes: Buffer): Promise<DecodedImage | PipelineError> {
  try {
    return await decodeImage(bytes, LIMITS);
  } catch (err) {
    if (err instanceof PipelineError) return err;
    throw err; // anything else is a bug: decodeImage must only throw PipelineErrors
  }
}

/** Mean absolute difference per channel value. */
function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('decodeImage', () => {
  // Names, not objects, in the table: the inputs are made in beforeAll.
  it.each([
    'zero-byte file',
    'truncated JPEG',
    'text file named .jpg',
    'PNG bomb 50000x50000',
    '1x10000',
    '10000x1',
    'CMYK JPEG',
    '16-bit PNG',
    'greyscale PNG',
    'palette PNG',
    'PNG with alpha',
    'animated GIF',
    'animated WebP',
    'multi-page TIFF',
    'AVIF',
    'HEIC',
    'SVG with external references',
    'SVG named .png',
  ])('%s: ends as expected', async (name) => {
    const { bytes, expected } = input(name);

    const result = await outcome(bytes);

    if (expected.status === 'succeeded') {
      expect(result).not.toBeInstanceOf(PipelineError);
      const img = result as DecodedImage;
      expect({ width: img.width, height: img.height }).toEqual({ width: expected.width, height: expected.height });
      expect(img.rgb.length).toBe(img.width * img.height * 3); // 8-bit, 3 channels, whatever came in
    } else {
      expect(result).toBeInstanceOf(PipelineError);
      const err = result as PipelineError;
      expect(err.code).toBe(expected.code);
      expect(err.retryable).toBe(false);
      if (typeof expected.message === 'string') expect(err.message).toBe(expected.message);
      else expect(err.message).toMatch(expected.message);
    }
  });

  it('covers every generated input in the table above', () => {
    const tabled = inputs.filter((i) => !i.name.startsWith('EXIF orientation'));
    expect(tabled).toHaveLength(18);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('EXIF orientation %i: decodes upright, as the photo is shown', async (n) => {
    const jpeg = await orientedJpeg(upright, n);
    expect((await sharp(jpeg).metadata()).orientation).toBe(n);

    const img = await decodeImage(jpeg, LIMITS);

    expect([img.width, img.height]).toEqual([upright.width, upright.height]);
    expect(meanAbsDiff(img.rgb, upright.data)).toBeLessThan(4); // JPEG noise only
  });

  it.each(['animated GIF', 'animated WebP', 'multi-page TIFF'])('%s: decodes the first frame (red) only', async (name) => {
    const img = await decodeImage(input(name).bytes, LIMITS);

    expect(img.pages).toBe(3);
    expect(img.height).toBe(30); // one page, not the strip of all pages
    const [r, g, b] = [0, 1, 2].map((c) => img.rgb.filter((_, i) => i % 3 === c));
    expect(Math.min(...r!)).toBeGreaterThan(240);
    expect(Math.max(...g!, ...b!)).toBeLessThan(16);
  });

  it('converts 16-bit, CMYK, palette and AVIF inputs to the same 8-bit sRGB pixels as the original', async () => {
    const reference = await decodeImage(await sharp(upright.data, { raw: { width: upright.width, height: upright.height, channels: 3 } }).png().toBuffer(), LIMITS);
    const tolerance: Record<string, number> = { '16-bit PNG': 1, 'CMYK JPEG': 12, 'palette PNG': 8, AVIF: 8 };
    for (const [name, max] of Object.entries(tolerance)) {
      const img = await decodeImage(input(name).bytes, LIMITS);
      expect(meanAbsDiff(img.rgb, reference.rgb), name).toBeLessThan(max);
    }
  });

  it('expands greyscale to three equal channels', async () => {
    const img = await decodeImage(input('greyscale PNG').bytes, LIMITS);
    for (let i = 0; i < img.rgb.length; i += 3) {
      expect(img.rgb[i + 1]).toBe(img.rgb[i]);
      expect(img.rgb[i + 2]).toBe(img.rgb[i]);
    }
  });

  it('keeps the input alpha of a transparent PNG apart from the colour', async () => {
    const img = await decodeImage(input('PNG with alpha').bytes, LIMITS);
    expect(img.alpha).toHaveLength(img.width * img.height);
    expect(new Set(img.alpha)).toEqual(new Set([127])); // ensureAlpha(0.5) stores 127
  });

  it('refuses a decompression bomb from its header, without decoding it', async () => {
    const started = performance.now();
    const err = await outcome(input('PNG bomb 50000x50000').bytes);
    expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    // Decoding 2.5 gigapixels would take minutes and gigabytes; the header check takes milliseconds.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('applies the configured pixel limit from the header (dimensions as stored)', async () => {
    const err = await decodeImage(input('EXIF orientation 6').bytes, { maxPixels: 10_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'IMAGE_TOO_LARGE',
      message: `Expected an image of at most 10000 pixels but received ${upright.height}x${upright.width}`,
    });
  });

  it('never lets an SVG reach a renderer: nothing it references is fetched', async () => {
    const before = probe.requests.length;
    await expect(decodeImage(hostileSvg(probe.origin), LIMITS)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    await expect(decodeImage(input('SVG named .png').bytes, LIMITS)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    await new Promise((r) => setTimeout(r, 200));
    expect(probe.requests.length - before).toBe(0);
  });
});

describe('sniffFormat', () => {
  it.each([
    ['plain', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['XML declaration', '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['leading whitespace', '\n\n  <svg>'],
    ['byte-order mark', '\ufeff<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['comment first', '<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['DOCTYPE', '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg/>'],
  ])('recognises SVG: %s', (_name, text) => {
    expect(sniffFormat(Buffer.from(text, 'utf8'))).toBe('svg');
  });

  it.each([
    ['HTML without SVG', '<html><body>hi</body></html>'],
    ['CSV', 'name,photo\nada,ada.jpg\n'],
    ['the word svg in text', 'this is not <svgish> markup'],
  ])('does not call %s an SVG', (_name, text) => {
    expect(sniffFormat(Buffer.from(text))).toBeUndefined();
  });
});

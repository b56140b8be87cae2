/**
 * From a photo and its mask to the files its output spec asks for: crop to the subject (with a
 * margin), scale to the maximum size, put the subject on its background (transparent, a colour,
 * the photo blurred, or an image from the bucket scaled to cover), encode (codecs.ts).
 */
import sharp from 'sharp';
import type { OutputSpec } from '#core/output-options';
import { encodeAs, encodeMaskPng, type CodecTuning } from './codecs.ts';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Pixels at or above this alpha count as the subject when cropping. */
export const SUBJECT_ALPHA = 128;

/** Bounding box of mask >= threshold, or undefined when no pixel reaches it. */
export function subjectBox(mask: Uint8Array, width: number, height: number, threshold = SUBJECT_ALPHA): Box | undefined {
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]! >= threshold) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (first < minX) minX = first;
    if (last > maxX) maxX = last;
    if (y < minY) minY = y;
    maxY = y;
  }
  return maxX < 0 ? undefined : { left: minX, top: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/** The subject's box grown by the margin (percent of its longer side, or pixels), clamped to the photo. */
export function cropBox(subject: Box, crop: NonNullable<OutputSpec['crop']>, width: number, height: number): Box {
  const margin = Math.round(crop.unit === 'px' ? crop.margin : (crop.margin / 100) * Math.max(subject.width, subject.height));
  const left = Math.max(0, subject.left - margin);
  const top = Math.max(0, subject.top - margin);
  const right = Math.min(width, subject.left + subject.width + margin);
  const bottom = Math.min(height, subject.top + subject.height + margin);
  return { left, top, width: right - left, height: bottom - top };
}

/** Output size for a box under a maximum long side (downscale only). */
export function fitSize(width: number, height: number, maxSize?: number): { width: number; height: number } {
  const long = Math.max(width, height);
  if (maxSize === undefined || long <= maxSize) return { width, height };
  const s = maxSize / long;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

export interface PhotoPixels {
  rgb: Buffer;
  alpha?: Buffer;
  width: number;
  height: number;
}

export interface RenderedOutputs {
  mask?: Buffer;
  cutout?: Buffer;
  width: number;
  height: number;
  /** The crop box in the photo's pixels, when the spec asked for one and a subject was found. */
  crop?: Box;
}

/** Resize raw pixels of a box of an image (identity when nothing changes). */
async function region(data: Buffer, from: { width: number; height: number; channels: 1 | 3 }, box: Box, to: { width: number; height: number }): Promise<Buffer> {
  const whole = box.left === 0 && box.top === 0 && box.width === from.width && box.height === from.height;
  if (whole && to.width === from.width && to.height === from.height) return data;
  let img = sharp(data, { raw: from });
  if (!whole) img = img.extract(box);
  if (to.width !== box.width || to.height !== box.height) img = img.resize(to.width, to.height, { fit: 'fill' });
  if (from.channels === 1) img = img.toColourspace('b-w');
  return img.raw().toBuffer();
}

/**
 * Render what `spec` asks for. `mask` is the soft mask at the photo's size; `background` is the
 * decoded background image when the spec names one (`image:<key>`).
 */
export async function renderOutputs(
  photo: PhotoPixels,
  mask: Buffer,
  spec: OutputSpec,
  background?: { rgb: Buffer; width: number; height: number },
): Promise<RenderedOutputs> {
  const { width: W, height: H } = photo;
  const subject = spec.crop ? subjectBox(mask, W, H) : undefined;
  const box = spec.crop && subject ? cropBox(subject, spec.crop, W, H) : { left: 0, top: 0, width: W, height: H };
  const size = fitSize(box.width, box.height, spec.maxSize);
  const maskOut = await region(mask, { width: W, height: H, channels: 1 }, box, size);
  const out: RenderedOutputs = { ...size, ...(spec.crop && subject ? { crop: box } : {}) };
  const jobs: Promise<void>[] = [];
  if (spec.outputs !== 'cutout') jobs.push(encodeMaskPng(maskOut, size.width, size.height).then((b) => void (out.mask = b)));
  if (spec.outputs !== 'mask') {
    jobs.push(
      (async () => {
        const rgb = await region(photo.rgb, { width: W, height: H, channels: 3 }, box, size);
        let alpha = maskOut;
        if (photo.alpha) {
          const inAlpha = await region(photo.alpha, { width: W, height: H, channels: 1 }, box, size);
          alpha = Buffer.allocUnsafe(maskOut.length);
          for (let i = 0; i < alpha.length; i++) alpha[i] = Math.round((maskOut[i]! * inAlpha[i]!) / 255);
        }
        out.cutout = await encodeCutout(rgb, alpha, size.width, size.height, spec, background);
      })(),
    );
  }
  await Promise.all(jobs);
  return out;
}

/** Subject over its background, encoded. RGB and alpha are already at the output size. */
export async function encodeCutout(
  rgb: Buffer,
  alpha: Buffer,
  width: number,
  height: number,
  spec: OutputSpec,
  background?: { rgb: Buffer; width: number; height: number },
  tuning: CodecTuning = {},
): Promise<Buffer> {
  const raw3 = { raw: { width, height, channels: 3 as const } };
  const raw1 = { raw: { width, height, channels: 1 as const } };
  const bg = spec.background;
  switch (bg.type) {
    case 'transparent': {
      // Fully transparent pixels get RGB 0: the background is really gone (not hidden behind alpha
      // 0, where any editor could bring it back), and the file is smaller and faster to write.
      const visible = Buffer.allocUnsafe(alpha.length);
      for (let i = 0; i < alpha.length; i++) visible[i] = alpha[i] === 0 ? 0 : 255;
      return encodeAs(sharp(rgb, raw3).boolean(visible, 'and', raw1).joinChannel(alpha, raw1), spec, tuning);
    }
    case 'colour': {
      // Two pipelines: sharp runs flatten before joinChannel within one, whatever the call order.
      const rgba = await sharp(rgb, raw3).joinChannel(alpha, raw1).raw().toBuffer();
      return encodeAs(sharp(rgba, { raw: { width, height, channels: 4 } }).flatten({ background: bg.colour }), spec, tuning);
    }
    case 'blur':
    case 'image': {
      let base: Buffer;
      if (bg.type === 'blur') {
        base = await sharp(rgb, raw3).blur(bg.sigma).raw().toBuffer();
      } else {
        if (!background) throw new Error('renderOutputs: an image background needs its decoded image');
        base = await sharp(background.rgb, { raw: { width: background.width, height: background.height, channels: 3 } })
          .resize(width, height, { fit: 'cover' })
          .raw()
          .toBuffer();
      }
      const fg = await sharp(rgb, raw3).joinChannel(alpha, raw1).raw().toBuffer();
      return encodeAs(sharp(base, raw3).composite([{ input: fg, raw: { width, height, channels: 4 } }]), spec, tuning);
    }
  }
}

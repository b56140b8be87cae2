/**
 * The page's image work, on canvases: decode a file to upright sRGB pixels (the browser's decoders,
 * EXIF orientation applied), and turn a model-size mask into the finished full-size mask (the
 * worker's upsampling and haze curve) and the cut-out.
 * Resizing for the model is not here: that is #segmenter/segmentation's, as in the worker.
 */
import { DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_UPLOAD_BYTES } from '#core/limits';
import { applyHazeCurve, type HazeCurve } from '#segmenter/mask-curve';
import type { InputPlan, Pixels } from '#segmenter/segmentation';
import type { CanvasType } from './download-list.ts';

export interface Limits {
  maxBytes: number;
  maxPixels: number;
}

/** The worker's defaults (#core/limits): a photo the pipeline would refuse is refused here too. */
export const DEFAULT_LIMITS: Limits = { maxBytes: DEFAULT_MAX_UPLOAD_BYTES, maxPixels: DEFAULT_MAX_INPUT_PIXELS };

/** A photo the page cannot use, with a code like the pipeline's and a sentence for the person. */
export class PhotoError extends Error {
  override readonly name = 'PhotoError';
  constructor(
    readonly code: 'IMAGE_TOO_LARGE' | 'INVALID_IMAGE' | 'EMPTY_OBJECT',
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedPhoto {
  bitmap: ImageBitmap;
  pixels: Pixels;
  width: number;
  height: number;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

async function describeHead(file: Blob): Promise<string> {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const printable = [...head].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable
    ? `text starting ${JSON.stringify(String.fromCharCode(...head))}`
    : `bytes ${[...head].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function canvas2d(width: number, height: number): { canvas: OffscreenCanvas; ctx: OffscreenCanvasRenderingContext2D } {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('Expected a 2D canvas context but the browser gave none');
  return { canvas, ctx };
}

export async function decodePhoto(file: File, limits: Limits = DEFAULT_LIMITS): Promise<DecodedPhoto> {
  if (file.size === 0) throw new PhotoError('EMPTY_OBJECT', `Expected an image but ${file.name} is empty (0 bytes)`);
  if (file.size > limits.maxBytes) {
    throw new PhotoError('IMAGE_TOO_LARGE', `Expected an image of at most ${mb(limits.maxBytes)} but ${file.name} is ${mb(file.size)}`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch {
    throw new PhotoError(
      'INVALID_IMAGE',
      `Expected a JPEG, PNG, WebP, GIF or AVIF image but ${file.name} is not one this browser can decode (${await describeHead(file)})`,
    );
  }
  const { width, height } = bitmap;
  if (width * height > limits.maxPixels) {
    bitmap.close();
    throw new PhotoError('IMAGE_TOO_LARGE', `Expected an image of at most ${limits.maxPixels} pixels but ${file.name} is ${width}x${height}`);
  }
  const { ctx } = canvas2d(width, height);
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, width, height).data;
  return { bitmap, width, height, pixels: { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 4 } };
}

/** The model-size mask as a canvas: grey, or as alpha over black. */
function maskCanvas(mask: Uint8Array, plan: InputPlan, as: 'grey' | 'alpha'): OffscreenCanvas {
  const { canvas, ctx } = canvas2d(plan.width, plan.height);
  const img = ctx.createImageData(plan.width, plan.height);
  for (let i = 0, j = 0; i < mask.length; i++, j += 4) {
    const v = mask[i]!;
    if (as === 'grey') {
      img.data[j] = img.data[j + 1] = img.data[j + 2] = v;
      img.data[j + 3] = 255;
    } else {
      img.data[j + 3] = v;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * The mask at the photo's size, finished as the worker finishes it: bilinear upsampling, then the
 * haze curve (#segmenter/mask-curve, the worker's setting). One byte per pixel.
 */
export function finishMask(mask: Uint8Array, plan: InputPlan, width: number, height: number, curve: HazeCurve | undefined): Uint8Array {
  const { ctx } = canvas2d(width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'low'; // bilinear
  ctx.drawImage(maskCanvas(mask, plan, 'grey'), 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  if (curve) applyHazeCurve(rgba, curve, 4, 0);
  const full = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < full.length; i++, j += 4) full[i] = rgba[j]!;
  return full;
}

function put(target: HTMLCanvasElement | OffscreenCanvas, full: Uint8Array, width: number, height: number, as: 'grey' | 'alpha'): void {
  target.width = width;
  target.height = height;
  const ctx = target.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
  const img = ctx.createImageData(width, height);
  for (let i = 0, j = 0; i < full.length; i++, j += 4) {
    if (as === 'grey') {
      img.data[j] = img.data[j + 1] = img.data[j + 2] = full[i]!;
      img.data[j + 3] = 255;
    } else {
      img.data[j + 3] = full[i]!;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** The finished mask, shown grey, into `target`. */
export function drawMask(target: HTMLCanvasElement, full: Uint8Array, width: number, height: number): void {
  put(target, full, width, height, 'grey');
}

/** The cut-out at the photo's size: the photo with alpha = the finished mask; fully transparent pixels are empty. */
export function drawCutout(target: HTMLCanvasElement, photo: Pick<DecodedPhoto, 'bitmap' | 'width' | 'height'>, full: Uint8Array): void {
  const alpha = new OffscreenCanvas(photo.width, photo.height);
  put(alpha, full, photo.width, photo.height, 'alpha');
  target.width = photo.width;
  target.height = photo.height;
  const ctx = target.getContext('2d')!;
  ctx.globalCompositeOperation = 'source-over';
  ctx.drawImage(photo.bitmap, 0, 0);
  ctx.globalCompositeOperation = 'destination-in';
  ctx.drawImage(alpha, 0, 0);
  ctx.globalCompositeOperation = 'source-over';
}

export type Background = { kind: 'checker' } | { kind: 'colour'; colour: string } | { kind: 'image'; image: ImageBitmap };

/** The cut-out over a background, at the photo's size (a picked image covers it, centred). */
export function composite(cutout: HTMLCanvasElement, background: Background): HTMLCanvasElement {
  const out = document.createElement('canvas');
  out.width = cutout.width;
  out.height = cutout.height;
  const ctx = out.getContext('2d')!;
  if (background.kind === 'colour') {
    ctx.fillStyle = background.colour;
    ctx.fillRect(0, 0, out.width, out.height);
  } else if (background.kind === 'image') {
    const { image } = background;
    const scale = Math.max(out.width / image.width, out.height / image.height);
    const w = image.width * scale, h = image.height * scale;
    ctx.drawImage(image, (out.width - w) / 2, (out.height - h) / 2, w, h);
  } else {
    const size = Math.max(8, Math.round(Math.min(out.width, out.height) / 40));
    for (let y = 0; y < out.height; y += size) {
      for (let x = 0; x < out.width; x += size) {
        ctx.fillStyle = ((x + y) / size) % 2 === 0 ? '#ffffff' : '#cccccc';
        ctx.fillRect(x, y, size, size);
      }
    }
  }
  ctx.drawImage(cutout, 0, 0);
  return out;
}


export function toBlob(canvas: HTMLCanvasElement, type: CanvasType, quality = 0.92): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error(`Expected the browser to encode ${type} but it could not`))), type, quality),
  );
}

/**
 * The encoders, in one place: a cut-out or mask goes out in the format its output spec names.
 * A new format is one case here (and one entry in #core/output-options FORMAT_FILES).
 *
 * Settings chosen by measurement (`npm run bench:outputs -- --json`, 0.5 MP and 12 MP cut-outs,
 * this 2-core machine, medians side by side; figures in the README):
 * - PNG: zlib level 2, no adaptive filtering (bench/png-settings.ts: ~1.9x faster than sharp's
 *   default for ~8 % more bytes).
 * - WebP: effort 2 (lossless and lossy), AVIF: effort 2, JPEG: mozjpeg off (libjpeg-turbo defaults).
 */
import sharp from 'sharp';
import type { OutputSpec } from '#core/output-options';

export const PNG_OPTIONS: sharp.PngOptions = { compressionLevel: 2, adaptiveFiltering: false };
export const WEBP_EFFORT = 2;
export const AVIF_EFFORT = 2;
export const DEFAULT_QUALITY = { webp: 90, avif: 60, jpeg: 90 } as const;

/** Overrides of the measured defaults, for the benchmarks that choose them. */
export interface CodecTuning {
  effort?: number;
  png?: sharp.PngOptions;
}

/** Finish a sharp pipeline in the spec's format. */
export function encodeAs(image: sharp.Sharp, spec: Pick<OutputSpec, 'format' | 'quality'>, tuning: CodecTuning = {}): Promise<Buffer> {
  switch (spec.format) {
    case 'png':
      return image.png(tuning.png ?? PNG_OPTIONS).toBuffer();
    case 'webp': {
      const effort = tuning.effort ?? WEBP_EFFORT;
      return (spec.quality === undefined
        ? image.webp({ lossless: true, effort })
        : image.webp({ quality: spec.quality, alphaQuality: 100, effort })
      ).toBuffer();
    }
    case 'avif':
      return image.avif({ quality: spec.quality ?? DEFAULT_QUALITY.avif, effort: tuning.effort ?? AVIF_EFFORT }).toBuffer();
    case 'jpeg':
      return image.jpeg({ quality: spec.quality ?? DEFAULT_QUALITY.jpeg }).toBuffer();
  }
}

/** The mask: 8-bit grey PNG, whatever the cut-out's format (a lossy mask would not be a mask). */
export function encodeMaskPng(mask: Buffer, width: number, height: number, png: sharp.PngOptions = PNG_OPTIONS): Promise<Buffer> {
  return sharp(mask, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png(png).toBuffer();
}

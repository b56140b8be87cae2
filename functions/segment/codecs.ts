/**
 * The encoders, in one place: a cut-out or mask goes out in the format its output spec names.
 * A new format is one case here (and one row in #core/output-formats FORMAT_FILES).
 *
 * Settings chosen by measurement (`npm run bench:outputs -- --json`: a real cut-out at 0.5 MP and
 * 12 MP, this 2-core machine under load from a training run, medians side by side; README "Figures"):
 * - PNG: zlib level 2, no adaptive filtering (bench/png-settings.ts: ~1.9x faster than sharp's
 *   default for ~8 % more bytes). 34 ms / 0.72 s.
 * - WebP lossless: effort 0. Effort 2 took 11x (0.5 MP) / 3.1x (12 MP) the time for 13-37 % fewer
 *   bytes; effort 4 no smaller than 2. Effort 0: 0.18 s / 11 s: lossless WebP is slow at 12 MP.
 * - WebP lossy: effort 2 (effort 4: 1.2-1.5x the time for 1-14 % fewer bytes).
 * - AVIF: effort 0 (effort 2: 5x / 3x the time for 13-14 % fewer bytes).
 * - JPEG: libjpeg-turbo defaults at quality 90.
 */
import sharp from 'sharp';
import type { OutputSpec } from '#core/output-options';

export const PNG_OPTIONS: sharp.PngOptions = { compressionLevel: 2, adaptiveFiltering: false };
export const WEBP_LOSSLESS_EFFORT = 0;
export const WEBP_LOSSY_EFFORT = 2;
export const AVIF_EFFORT = 0;
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
    case 'webp':
      return (spec.quality === undefined
        ? image.webp({ lossless: true, effort: tuning.effort ?? WEBP_LOSSLESS_EFFORT })
        : image.webp({ quality: spec.quality, alphaQuality: 100, effort: tuning.effort ?? WEBP_LOSSY_EFFORT })
      ).toBuffer();
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

/**
 * The mask's finishing curve, pure (no sharp, no node:): the worker applies it after upsampling
 * (functions/segment/mask-upsampling.ts, in libvips) and the page applies the same curve and setting to its
 * upsampled mask (functions/web/page). One setting, one curve, two runtimes.
 *
 * The haze curve: alpha below `lo` is background (0), above `hi` is subject (255), linear between.
 */

export interface EdgeSettings {
  /** Box radius at the model's resolution (pixels). */
  radius: number;
  /** Regularisation: larger = closer to plain upsampling where the photo has little contrast. */
  eps: number;
}

export interface HazeCurve {
  /** Alpha (0-1) at or below which a pixel is background. */
  lo: number;
  /** Alpha (0-1) at or above which a pixel is fully subject. */
  hi: number;
}

export interface EdgePostProcess {
  /** Guided upsampling; unset = bilinear (sharp), the worker's upsampling before. */
  guided?: EdgeSettings;
  haze?: HazeCurve;
}

/**
 * The serving setting, chosen by `npm run bench:edges` on training photos (every 10th of ccp/train
 * and pfcn/train) and reported on ccp/test and pfcn/val at original resolution (README "Edges"):
 * the haze curve 0.2-0.8 lowers MAE on both sets (ccp/test 0.0278 -> 0.0238, pfcn/val 0.1273 ->
 * 0.1177) and changes nothing at the 0.5 threshold (IoU, boundary F). Guided upsampling (best
 * on training photos: r 4, eps 1e-3) raised boundary F on pfcn/val (0.554 -> 0.583) but lowered it
 * on ccp/test (0.872 -> 0.869) with a worse MAE there, so it is not served: it is not a win on
 * every set.
 */
export const EDGE_POSTPROCESS: EdgePostProcess = { haze: { lo: 0.2, hi: 0.8 } };

/** The curve as a 256-entry table over 8-bit alpha (identity without a curve). */
export function hazeLut(curve: HazeCurve | undefined): Uint8Array {
  const t = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const a = v / 255;
    t[v] = curve ? Math.round(255 * Math.min(1, Math.max(0, (a - curve.lo) / (curve.hi - curve.lo)))) : v;
  }
  return t;
}

/** The haze curve on an 8-bit mask (any 1-byte-per-value array, a stride picks one channel), in place. */
export function applyHazeCurve<T extends Uint8Array | Uint8ClampedArray>(mask: T, curve: HazeCurve, stride = 1, offset = 0): T {
  const t = hazeLut(curve);
  for (let i = offset; i < mask.length; i += stride) mask[i] = t[mask[i]!]!;
  return mask;
}

/** Mask quality metrics, on 8-bit masks (255 = person). Thresholded at 128 for IoU and boundaries. */

export interface MaskScores {
  intersection: number;
  union: number;
  iou: number;
  /** Mean |soft prediction - ground truth| in [0, 1]. */
  mae: number;
  boundaryF: number;
}

function binarise(m: Uint8Array | Buffer): Uint8Array {
  const out = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i]! >= 128 ? 1 : 0;
  return out;
}

/** Pixels of the mask that have a 4-neighbour of the other class. */
export function boundary(bin: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(bin.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = bin[i]!;
      if (
        (x > 0 && bin[i - 1] !== v) ||
        (x < width - 1 && bin[i + 1] !== v) ||
        (y > 0 && bin[i - width] !== v) ||
        (y < height - 1 && bin[i + width] !== v)
      ) {
        out[i] = 1;
      }
    }
  }
  return out;
}

/** Square dilation by radius r (separable running max). */
export function dilate(bin: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const tmp = new Uint8Array(bin.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (bin[y * width + x]) tmp[y * width + x] = 1;
    let last = Infinity;
    for (let x = width - 1; x >= 0; x--) {
      if (bin[y * width + x]) last = x;
      if (last - x <= r) tmp[y * width + x] = 1;
    }
    last = -Infinity;
    for (let x = 0; x < width; x++) {
      if (bin[y * width + x]) last = x;
      if (x - last <= r) tmp[y * width + x] = 1;
    }
  }
  const out = new Uint8Array(bin.length);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height; y++) {
      if (tmp[y * width + x]) last = y;
      if (y - last <= r) out[y * width + x] = 1;
    }
    last = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (tmp[y * width + x]) last = y;
      if (last - y <= r) out[y * width + x] = 1;
    }
  }
  return out;
}

/**
 * IoU, MAE and the boundary F-measure (DAVIS-style: boundary pixels count as matched within a
 * tolerance of 0.75% of the image diagonal). With `ignore` (255 = label unknown, e.g. camvid's
 * bicyclists and void), those pixels count nowhere: not in IoU, not in MAE, not as boundary pixels.
 */
export function scoreMask(
  pred: Uint8Array | Buffer,
  truth: Uint8Array | Buffer,
  width: number,
  height: number,
  ignore?: Uint8Array | Buffer,
): MaskScores {
  if (pred.length !== truth.length || pred.length !== width * height || (ignore && ignore.length !== pred.length)) {
    throw new Error(
      `Expected ${ignore ? 'three' : 'two'} ${width}x${height} masks but received ${pred.length}, ${truth.length}` +
        `${ignore ? ` and ${ignore.length}` : ''} pixels`,
    );
  }
  const p = binarise(pred);
  const t = binarise(truth);
  const skip = ignore ? binarise(ignore) : undefined;
  let inter = 0;
  let union = 0;
  let absErr = 0;
  let counted = 0;
  for (let i = 0; i < p.length; i++) {
    if (skip?.[i]) continue;
    counted++;
    inter += p[i]! & t[i]!;
    union += p[i]! | t[i]!;
    absErr += Math.abs(pred[i]! - truth[i]!);
  }
  const r = Math.max(1, Math.round(0.0075 * Math.hypot(width, height)));
  const bp = boundary(p, width, height);
  const bt = boundary(t, width, height);
  const dp = dilate(bp, width, height, r);
  const dt = dilate(bt, width, height, r);
  let nbp = 0, nbt = 0, hitP = 0, hitT = 0;
  for (let i = 0; i < bp.length; i++) {
    if (skip?.[i]) continue;
    if (bp[i]) { nbp++; hitP += dt[i]!; }
    if (bt[i]) { nbt++; hitT += dp[i]!; }
  }
  const precision = nbp ? hitP / nbp : nbt ? 0 : 1;
  const recall = nbt ? hitT / nbt : nbp ? 0 : 1;
  const boundaryF = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { intersection: inter, union, iou: union ? inter / union : 1, mae: counted ? absErr / (255 * counted) : 0, boundaryF };
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

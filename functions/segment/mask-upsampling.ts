/**
 * Edges at full resolution: the model's map is small (long side 320); stretching it to the photo
 * gives an edge band as wide as the stretch that ignores the photo's own edges. Guided upsampling
 * (the fast guided filter, He & Sun 2015, arXiv:1505.00996): fit q = a·I + b locally at the model's
 * resolution, I the photo's luminance there, p the model's map; upsample a and b (smooth) and apply
 * them to the full-resolution luminance, so the edge follows the photo. Then the haze curve: alpha
 * below `lo` is background (0), above `hi` is subject (255), linear in between.
 *
 * Whether and with which setting the pipeline uses it is decided by measurement (bench/edges.ts;
 * README "Edges").
 */
import sharp from 'sharp';

import { hazeLut as lut, type EdgeSettings, type HazeCurve } from '#segmenter/mask-curve';

/** Mean over a (2r+1)^2 box, clipped at the borders, via an integral image. */
function boxMean(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const W1 = w + 1;
  const integral = new Float64Array(W1 * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += src[y * w + x]!;
      integral[(y + 1) * W1 + x + 1] = integral[y * W1 + x + 1]! + row;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const sum = integral[y1 * W1 + x1]! - integral[y0 * W1 + x1]! - integral[y1 * W1 + x0]! + integral[y0 * W1 + x0]!;
      out[y * w + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Bilinear sample positions (half-pixel centres) from n source to m destination samples. */
function axis(n: number, m: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(m);
  const i1 = new Int32Array(m);
  const f = new Float32Array(m);
  const s = n / m;
  for (let j = 0; j < m; j++) {
    const x = Math.min(n - 1, Math.max(0, (j + 0.5) * s - 0.5));
    i0[j] = Math.floor(x);
    i1[j] = Math.min(n - 1, i0[j]! + 1);
    f[j] = x - i0[j]!;
  }
  return { i0, i1, f };
}

/**
 * Bilinear upsampling and the haze curve in one libvips pass (off the event loop): the curve is
 * linear between lo and hi, clipped to 0-255 by the 8-bit output.
 */
export function upsampleWithCurve(prob: Buffer, from: { width: number; height: number }, width: number, height: number, curve: HazeCurve): Promise<Buffer> {
  const gain = 1 / (curve.hi - curve.lo);
  let img = sharp(prob, { raw: { width: from.width, height: from.height, channels: 1 } });
  if (from.width !== width || from.height !== height) img = img.resize(width, height, { fit: 'fill', kernel: 'linear' });
  return img.linear(gain, -255 * curve.lo * gain).toColourspace('b-w').raw().toBuffer();
}

/**
 * The mask at the photo's size, guided by the photo. `prob` is the model's 8-bit map at
 * `small` (the un-padded model input size); `rgb` is the photo at `width` x `height`.
 */
export async function guidedUpsample(
  prob: Uint8Array,
  small: { width: number; height: number },
  photo: { rgb: Buffer; width: number; height: number },
  settings: EdgeSettings,
  curve?: HazeCurve,
): Promise<Buffer> {
  const { width: w, height: h } = small;
  const { width: W, height: H } = photo;
  const raw = { raw: { width: W, height: H, channels: 3 as const } };
  const [lowGuide, fullGuide] = await Promise.all([
    sharp(photo.rgb, raw).resize(w, h, { fit: 'fill' }).greyscale().raw().toBuffer(),
    sharp(photo.rgb, raw).greyscale().raw().toBuffer(),
  ]);
  const n = w * h;
  const I = new Float32Array(n);
  const p = new Float32Array(n);
  const II = new Float32Array(n);
  const Ip = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = lowGuide[i]! / 255;
    const q = prob[i]! / 255;
    I[i] = g;
    p[i] = q;
    II[i] = g * g;
    Ip[i] = g * q;
  }
  const r = settings.radius;
  const mI = boxMean(I, w, h, r);
  const mp = boxMean(p, w, h, r);
  const mII = boxMean(II, w, h, r);
  const mIp = boxMean(Ip, w, h, r);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const varI = mII[i]! - mI[i]! * mI[i]!;
    const cov = mIp[i]! - mI[i]! * mp[i]!;
    a[i] = cov / (varI + settings.eps);
    b[i] = mp[i]! - a[i]! * mI[i]!;
  }
  const ma = boxMean(a, w, h, r);
  const mb = boxMean(b, w, h, r);
  // Full resolution: bilinear a and b, q = a * I + b (in 0-255), then the haze curve.
  const xs = axis(w, W);
  const ys = axis(h, H);
  const t = lut(curve);
  const out = Buffer.allocUnsafe(W * H);
  for (let y = 0; y < H; y++) {
    const r0 = ys.i0[y]! * w;
    const r1 = ys.i1[y]! * w;
    const fy = ys.f[y]!;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const c0 = xs.i0[x]!;
      const c1 = xs.i1[x]!;
      const fx = xs.f[x]!;
      const a0 = ma[r0 + c0]! + (ma[r0 + c1]! - ma[r0 + c0]!) * fx;
      const a1 = ma[r1 + c0]! + (ma[r1 + c1]! - ma[r1 + c0]!) * fx;
      const b0 = mb[r0 + c0]! + (mb[r0 + c1]! - mb[r0 + c0]!) * fx;
      const b1 = mb[r1 + c0]! + (mb[r1 + c1]! - mb[r1 + c0]!) * fx;
      const q = (a0 + (a1 - a0) * fy) * fullGuide[row + x]! + 255 * (b0 + (b1 - b0) * fy);
      out[row + x] = t[q <= 0 ? 0 : q >= 255 ? 255 : Math.round(q)]!;
    }
  }
  return out;
}

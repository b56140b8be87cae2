/**
 * The model's pre- and post-processing, pure: plain arrays in, plain arrays out. No sharp, no
 * onnxruntime, no `node:` module, so the worker (functions/segment/inference.ts), `greenscreen eval`,
 * the benchmarks and a browser page (onnxruntime-web) all run exactly this code, through segmenter.ts.
 *
 * API (sizes in pixels, images row-major, 8-bit, interleaved channels):
 * - `planInput(width, height, card)` -> `InputPlan`: the model's input size for a photo (aspect ratio
 *   kept, long side = card.input.longSide, rounded as Python rounds), padded up to sizeMultiple.
 * - `resizeBilinear(pixels, to)` -> `Pixels`: Pillow's `Image.resize(size, Image.BILINEAR)`,
 *   bit for bit (the filter, its support scaled when shrinking, 22-bit fixed point, horizontal pass
 *   first): the training code (models/datasets.py) resizes with Pillow, so serving must too.
 * - `toTensor(small, plan, card)` -> `Float32Array`: RGB(A) bytes already at plan.width x
 *   plan.height -> normalised CHW (card mean/std), padded bottom/right with card.input.padValue.
 * - `preprocess(pixels, card)` -> `Preprocessed` = planInput + resizeBilinear + toTensor.
 * - `assembleBatch(items, padValue)` -> `{data, dims}`: one NCHW float32 batch for the session.
 * - `probabilitiesToMask(out, n, H, W, plan)` -> `Uint8Array`: item n of the session's N x 1 x H x W
 *   sigmoid output, cropped to plan.width x plan.height, as bytes (probability x 255, rounded).
 *
 * The whole sequence around a runtime (the model, the subject rule, upsampling and the haze curve)
 * is composed once, in segmenter.ts.
 */

/** The part of a model card (models/*.card.json) that pre- and post-processing read. */
export interface SegmenterCard {
  input: {
    name: string;
    longSide: number;
    sizeMultiple: number;
    mean: readonly [number, number, number];
    std: readonly [number, number, number];
    /** Value (after normalisation) of the padding added to reach sizeMultiple. */
    padValue: number;
  };
  output: { name: string };
  threshold: number;
  /** The model's "nobody in the photo" rule (subject.ts SubjectRule; this module imports nothing); absent: DEFAULT_SUBJECT_RULE. */
  subject?: { maxArea: number; minConfidence: number };
}

/** Raw 8-bit pixels: 1 (grey), 3 (RGB) or 4 (RGBA, e.g. a canvas's ImageData) channels. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface InputPlan {
  /** Size the photo is resized to (aspect ratio preserved, long side = card.input.longSide). */
  width: number;
  height: number;
  /** Padded up to card.input.sizeMultiple (bottom/right padding). */
  paddedWidth: number;
  paddedHeight: number;
}

export interface Preprocessed {
  plan: InputPlan;
  /** 3 x paddedHeight x paddedWidth, normalised, padding = card.input.padValue. */
  tensor: Float32Array;
}

export interface Batch {
  data: Float32Array;
  dims: [number, number, number, number];
}

/** The runtime's one call: NCHW float32 in, N x 1 x H x W probabilities out. */
export type RunModel = (input: Float32Array, dims: readonly [number, number, number, number]) => Promise<Float32Array>;

/** Python's round(): halves go to the even neighbour (round(212.5) = 212), as models/datasets.py sizes its cache. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

function checkSize(what: string, width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`Expected ${what} to be a positive whole number of pixels but received ${width}x${height}`);
  }
}

/** Same arithmetic as models/datasets.py `load_resized`: scale = longSide / max(w, h); round(w * scale). */
export function planInput(width: number, height: number, card: Pick<SegmenterCard, 'input'>): InputPlan {
  checkSize('the image', width, height);
  const { longSide, sizeMultiple } = card.input;
  const scale = longSide / Math.max(width, height);
  const w = Math.max(1, roundHalfEven(width * scale));
  const h = Math.max(1, roundHalfEven(height * scale));
  return { width: w, height: h, paddedWidth: roundUp(w, sizeMultiple), paddedHeight: roundUp(h, sizeMultiple) };
}

// ---- Pillow's bilinear resample (libImaging/Resample.c), 8 bits per channel ----------------------

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;

interface Coefficients {
  /** Per output pixel: first source index and number of taps. */
  bounds: Int32Array;
  /** outSize x ksize fixed-point weights. */
  weights: Int32Array;
  ksize: number;
}

/** precompute_coeffs + normalize_coeffs_8bpc for the triangle filter (support 1). */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = filterscale; // bilinear support 1.0 x filterscale
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      // (int)(0.5 + w * ONE) truncates towards zero; triangle weights are never negative.
      weights[xx * ksize + x] = Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

/** The fixed-point sum back to 8 bits (clip8 in Resample.c). */
const clip8 = (v: number) => (v >= ONE << 8 ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS);

/** One pass along rows: `rows` rows of `inW` pixels -> `outW` pixels (integer arithmetic, as Pillow). */
function resampleRows(data: Uint8Array, firstRow: number, rows: number, inW: number, C: number, h: Coefficients, outW: number): Uint8Array {
  const out = new Uint8Array(rows * outW * C);
  const { bounds, weights, ksize } = h;
  for (let y = 0; y < rows; y++) {
    const srcRow = (y + firstRow) * inW * C;
    let dst = y * outW * C;
    if (C === 3) {
      for (let xx = 0; xx < outW; xx++, dst += 3) {
        const n = bounds[xx * 2 + 1]!, kb = xx * ksize;
        let p = srcRow + bounds[xx * 2]! * 3;
        let s0 = HALF, s1 = HALF, s2 = HALF;
        for (let x = 0; x < n; x++, p += 3) {
          const w = weights[kb + x]!;
          s0 = (s0 + Math.imul(data[p]!, w)) | 0;
          s1 = (s1 + Math.imul(data[p + 1]!, w)) | 0;
          s2 = (s2 + Math.imul(data[p + 2]!, w)) | 0;
        }
        out[dst] = clip8(s0);
        out[dst + 1] = clip8(s1);
        out[dst + 2] = clip8(s2);
      }
    } else {
      for (let xx = 0; xx < outW; xx++, dst += C) {
        const xmin = bounds[xx * 2]!, n = bounds[xx * 2 + 1]!, kb = xx * ksize;
        for (let c = 0; c < C; c++) {
          let s = HALF;
          for (let x = 0, p = srcRow + xmin * C + c; x < n; x++, p += C) s = (s + Math.imul(data[p]!, weights[kb + x]!)) | 0;
          out[dst + c] = clip8(s);
        }
      }
    }
  }
  return out;
}

/**
 * Pillow's `Image.resize((width, height), Image.BILINEAR)` on 8-bit pixels, bit for bit: when
 * shrinking, the triangle filter widens with the scale (an antialiasing, area-weighted average);
 * the horizontal pass runs first and rounds to 8 bits, then the vertical pass.
 */
export function resizeBilinear(src: Pixels, to: { width: number; height: number }): Pixels {
  const { data, width: inW, height: inH, channels: C } = src;
  checkSize('the source', inW, inH);
  checkSize('the target', to.width, to.height);
  if (data.length !== inW * inH * C) {
    throw new RangeError(`Expected ${inW}x${inH}x${C} = ${inW * inH * C} bytes of pixels but received ${data.length}`);
  }
  const outW = to.width, outH = to.height;
  if (outW === inW && outH === inH) return { data: data.slice(), width: inW, height: inH, channels: C };

  const v = coefficients(inH, outH);
  // Only the source rows the vertical pass reads are resampled horizontally.
  const rowOffset = outW !== inW ? v.bounds[0]! : 0;
  const mid =
    outW !== inW
      ? resampleRows(data, rowOffset, v.bounds[(outH - 1) * 2]! + v.bounds[(outH - 1) * 2 + 1]! - rowOffset, inW, C, coefficients(inW, outW), outW)
      : data;
  if (outH === inH) return { data: mid, width: outW, height: outH, channels: C };

  const rowLen = outW * C;
  const out = new Uint8Array(rowLen * outH);
  const acc = new Int32Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = v.bounds[yy * 2]! - rowOffset, n = v.bounds[yy * 2 + 1]!, kb = yy * v.ksize;
    acc.fill(HALF);
    for (let y = 0; y < n; y++) {
      const w = v.weights[kb + y]!;
      const row = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i]! + Math.imul(mid[row + i]!, w)) | 0;
    }
    const dst = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[dst + i] = clip8(acc[i]!);
  }
  return { data: out, width: outW, height: outH, channels: C };
}

// ---- tensors -----------------------------------------------------------------------------------

/** RGB(A) bytes at plan.width x plan.height -> normalised 3 x paddedHeight x paddedWidth. */
export function toTensor(small: Pixels, plan: InputPlan, card: Pick<SegmenterCard, 'input'>): Float32Array {
  if (small.width !== plan.width || small.height !== plan.height || small.channels < 3) {
    throw new RangeError(
      `Expected RGB(A) pixels at ${plan.width}x${plan.height} (the plan) but received ${small.width}x${small.height}x${small.channels}`,
    );
  }
  const { paddedWidth: pw, paddedHeight: ph } = plan;
  const plane = pw * ph;
  const C = small.channels;
  const px = small.data;
  const tensor = new Float32Array(3 * plane).fill(card.input.padValue);
  const [m0, m1, m2] = card.input.mean;
  const [s0, s1, s2] = card.input.std;
  for (let y = 0; y < plan.height; y++) {
    let src = y * plan.width * C;
    let dst = y * pw;
    for (let x = 0; x < plan.width; x++, src += C, dst++) {
      // (v / 255 - mean) / std, as models/data.py normalise_uint8.
      tensor[dst] = (px[src]! / 255 - m0) / s0;
      tensor[plane + dst] = (px[src + 1]! / 255 - m1) / s1;
      tensor[2 * plane + dst] = (px[src + 2]! / 255 - m2) / s2;
    }
  }
  return tensor;
}

/** Pre-processing of one decoded, upright sRGB image: plan, Pillow-exact resize, normalise, pad. */
export function preprocess(pixels: Pixels, card: Pick<SegmenterCard, 'input'>): Preprocessed {
  const plan = planInput(pixels.width, pixels.height, card);
  const small = resizeBilinear(pixels, plan);
  return { plan, tensor: toTensor(small, plan, card) };
}

/** Stack items into one NCHW batch, padding each to the largest padded size in the batch. */
export function assembleBatch(items: readonly Preprocessed[], padValue: number): Batch {
  if (!items.length) throw new RangeError('Expected at least one pre-processed image in a batch but received none');
  const H = Math.max(...items.map((i) => i.plan.paddedHeight));
  const W = Math.max(...items.map((i) => i.plan.paddedWidth));
  if (items.length === 1) return { data: items[0]!.tensor, dims: [1, 3, H, W] };
  const data = new Float32Array(items.length * 3 * H * W).fill(padValue);
  items.forEach((item, n) => {
    const { paddedWidth: pw, paddedHeight: ph } = item.plan;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < ph; y++) {
        const src = item.tensor.subarray(c * ph * pw + y * pw, c * ph * pw + (y + 1) * pw);
        data.set(src, ((n * 3 + c) * H + y) * W);
      }
    }
  });
  return { data, dims: [items.length, 3, H, W] };
}

/** Item n of an N x 1 x H x W probability output, cropped to the un-padded plan, as 8-bit (p x 255). */
export function probabilitiesToMask(out: Float32Array, n: number, H: number, W: number, plan: InputPlan): Uint8Array {
  if (out.length < (n + 1) * H * W || plan.width > W || plan.height > H) {
    throw new RangeError(
      `Expected at least ${n + 1} probability maps of ${W}x${H} covering ${plan.width}x${plan.height} but received ${out.length} values`,
    );
  }
  const mask = new Uint8Array(plan.width * plan.height);
  const base = n * H * W;
  for (let y = 0; y < plan.height; y++) {
    const row = base + y * W;
    for (let x = 0; x < plan.width; x++) {
      const p = out[row + x]!;
      mask[y * plan.width + x] = p <= 0 ? 0 : p >= 1 ? 255 : Math.round(p * 255);
    }
  }
  return mask;
}

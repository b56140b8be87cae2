/**
 * The Node side of the browser comparisons: a photo through sharp's decoder, #core/segmentation and
 * the worker's onnxruntime-node session, with the raw probabilities kept; and the figures that
 * compare two probability maps. vitest-free (the web benchmark imports it).
 */
import { segmentPixels, type InputPlan } from '#core/segmentation';
import { decodeImage } from '#segment/image';
import { upsampleMask } from '#segment/inference';
import { decideSubject, subjectEvidence } from '#segment/subject';
import type { ModelCard } from '#segment/model-card';
import type { ModelSession } from '#segment/model-session';

export interface NodeSegmentation {
  plan: InputPlan;
  mask: Uint8Array;
  /** The model's float probabilities cropped to the plan. */
  probabilities: Float32Array;
  /** The finished mask at the photo's size, as the worker makes it (subject rule, upsampling, haze curve). */
  full: Buffer;
  /** decode + pre-process + model + post-process (to the finished full-size mask). */
  ms: number;
  modelMs: number;
}

export async function segmentInNode(photo: Buffer, card: ModelCard, session: ModelSession): Promise<NodeSegmentation> {
  const t0 = performance.now();
  const img = await decodeImage(photo, { maxPixels: 40_000_000 });
  let raw: { out: Float32Array; W: number } | undefined;
  let modelMs = 0;
  const { plan, mask } = await segmentPixels({ data: img.rgb, width: img.width, height: img.height, channels: 3 }, card, async (data, dims) => {
    const m0 = performance.now();
    const out = await session.run(data, dims);
    modelMs = performance.now() - m0;
    raw = { out, W: dims[3] };
    return out;
  });
  const full =
    decideSubject(subjectEvidence(mask)) === 'none' ? Buffer.alloc(img.width * img.height) : await upsampleMask(Buffer.from(mask), plan, img);
  const ms = performance.now() - t0;
  const probabilities = new Float32Array(plan.width * plan.height);
  for (let y = 0; y < plan.height; y++) probabilities.set(raw!.out.subarray(y * raw!.W, y * raw!.W + plan.width), y * plan.width);
  return { plan, mask, probabilities, full, ms, modelMs };
}

export interface Parity {
  /** IoU of the two maps thresholded at `threshold`. */
  iou: number;
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Largest difference of the 8-bit masks, in levels of 255. */
  maxMaskLevels: number;
  /** Foreground share of the reference (a map that is all one thing proves nothing). */
  foreground: number;
}

export function compareProbabilities(a: ArrayLike<number>, b: ArrayLike<number>, threshold: number, masks?: [ArrayLike<number>, ArrayLike<number>]): Parity {
  if (a.length !== b.length) throw new Error(`Expected maps of the same size but received ${a.length} and ${b.length} values`);
  let inter = 0, union = 0, fg = 0, maxAbs = 0, sumAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const pa = a[i]! >= threshold, pb = b[i]! >= threshold;
    if (pa && pb) inter++;
    if (pa || pb) union++;
    if (pb) fg++;
    const d = Math.abs(a[i]! - b[i]!);
    sumAbs += d;
    if (d > maxAbs) maxAbs = d;
  }
  let maxLevels = 0;
  if (masks) for (let i = 0; i < masks[0].length; i++) maxLevels = Math.max(maxLevels, Math.abs(masks[0][i]! - masks[1][i]!));
  return { iou: union ? inter / union : 1, maxAbsDiff: maxAbs, meanAbsDiff: sumAbs / a.length, maxMaskLevels: maxLevels, foreground: fg / a.length };
}

/** Two finished 8-bit masks: IoU at 50 % and how far apart they are. */
export function compareMasks(a: ArrayLike<number>, b: ArrayLike<number>): { iou: number; maxLevels: number; meanLevels: number } {
  if (a.length !== b.length) throw new Error(`Expected masks of the same size but received ${a.length} and ${b.length} pixels`);
  let inter = 0, union = 0, max = 0, sum = 0;
  for (let i = 0; i < a.length; i++) {
    const pa = a[i]! >= 128, pb = b[i]! >= 128;
    if (pa && pb) inter++;
    if (pa || pb) union++;
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { iou: union ? inter / union : 1, maxLevels: max, meanLevels: sum / a.length };
}

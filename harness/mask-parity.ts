/**
 * The Node side of the browser comparisons: a photo through sharp's decoder and the worker's
 * segmenter (#segmenter/segmenter's one composition over the onnxruntime-node session, with Node's
 * upsampling), unbatched so the raw probabilities are kept; and the figures that compare two
 * probability maps. vitest-free (the web benchmark imports it).
 */
import type { ModelCard } from '#segmenter/card';
import { inferUnbatched, type Segmentation } from '#segmenter/segmenter';
import { decodeImage } from '#segment/image';
import { composeNodeSegmenter } from '#segment/inference';
import type { ModelSession } from '#segment/model-session';

export interface NodeSegmentation extends Segmentation<Buffer> {
  /** The model's float probabilities cropped to the plan. */
  probabilities: Float32Array;
  /** decode + pre-process + model + post-process (to the finished full-size mask). */
  ms: number;
  modelMs: number;
}

export async function segmentInNode(photo: Buffer, card: ModelCard, session: ModelSession): Promise<NodeSegmentation> {
  const t0 = performance.now();
  const img = await decodeImage(photo, { maxPixels: 40_000_000 });
  const segmenter = composeNodeSegmenter(card, inferUnbatched(card, (data, dims) => session.run(data, dims), { keepProbabilities: true }));
  const s = await segmenter.segment({ data: img.rgb, width: img.width, height: img.height, channels: 3 });
  return { ...s, probabilities: s.probabilities!, modelMs: s.modelMs!, ms: performance.now() - t0 };
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

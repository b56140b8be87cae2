/**
 * The segmenter, composed once: photo -> pre-process -> model -> the subject rule -> upsampling and
 * the haze curve -> the finished mask at the photo's size. Pure: the two steps that need a runtime
 * are passed in, so the worker (onnxruntime-node, sharp), `greenscreen eval`, the benchmarks, the
 * page (onnxruntime-web, a canvas) and the parity helper all run this sequence and no other.
 *
 *   const segmenter = composeSegmenter(card, { infer, upsample });
 *   const { mask, subject } = await segmenter.segment(pixels); // mask: width x height, 8-bit
 *
 * - `infer(pre)`: the model on one pre-processed photo -> its 8-bit probability map at plan size.
 *   A runtime may batch concurrent calls (functions/segment/inference.ts); `inferUnbatched` wraps a
 *   runtime's single `run` (the page, the parity helper) and can keep the raw probabilities.
 * - `upsample(map, plan, photo, post)`: the map at the photo's size, finished with `post` (the haze
 *   curve; guided upsampling when set): libvips in Node, a canvas in a page.
 */
import { EDGE_POSTPROCESS, type EdgePostProcess } from './mask-curve.ts';
import { assembleBatch, preprocess, probabilitiesToMask, type InputPlan, type Pixels, type Preprocessed, type RunModel, type SegmenterCard } from './segmentation.ts';
import { decideSubject, subjectEvidence, type Subject } from './subject.ts';

export interface Inferred {
  /** The model's probability map at plan size, x 255. */
  map: Uint8Array;
  /** The model's float probabilities cropped to the plan, when the runtime keeps them (comparisons). */
  probabilities?: Float32Array;
  /** Time inside the runtime's run, when the runtime measures it alone (unbatched). */
  modelMs?: number;
}

export type Infer = (pre: Preprocessed) => Promise<Inferred>;

export type Upsample<M extends Uint8Array> = (map: Uint8Array, plan: InputPlan, photo: Pixels, post: EdgePostProcess) => Promise<M>;

export interface SegmenterRuntime<M extends Uint8Array> {
  infer: Infer;
  upsample: Upsample<M>;
  /** An all-zero mask of this size, in the runtime's type (a Buffer in Node). */
  empty(width: number, height: number): M;
}

export interface SegmentTimings {
  preprocess: number;
  inference: number;
  /** Absent when there was nothing to upsample (subject "none"). */
  upsample?: number;
}

export interface Segmentation<M extends Uint8Array = Uint8Array> {
  /** The finished soft mask at the photo's size (probability x 255): what users get. */
  mask: M;
  /** Is anybody there (subject.ts)? 'none' = an all-zero mask, never a random blob. */
  subject: Subject;
  /** The model's input size for this photo. */
  plan: InputPlan;
  /** The model's 8-bit map at plan size (before the subject rule and upsampling). */
  map: Uint8Array;
  probabilities?: Float32Array;
  modelMs?: number;
  timingsMs: SegmentTimings;
}

export interface ComposedSegmenter<M extends Uint8Array = Uint8Array> {
  readonly card: SegmenterCard;
  /** Decoded, upright sRGB pixels (3 or 4 channels) -> the finished mask. Concurrent calls may be batched by the runtime. */
  segment(photo: Pixels): Promise<Segmentation<M>>;
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

export function composeSegmenter<M extends Uint8Array>(
  card: SegmenterCard,
  runtime: SegmenterRuntime<M>,
  post: EdgePostProcess = EDGE_POSTPROCESS,
): ComposedSegmenter<M> {
  return {
    card,
    async segment(photo) {
      let t0 = performance.now();
      const pre = preprocess(photo, card);
      const preprocessMs = round1(performance.now() - t0);
      t0 = performance.now();
      const inferred = await runtime.infer(pre);
      const inference = round1(performance.now() - t0);
      const subject = decideSubject(subjectEvidence(inferred.map), card.subject);
      const timingsMs: SegmentTimings = { preprocess: preprocessMs, inference };
      let mask: M;
      if (subject === 'none') mask = runtime.empty(photo.width, photo.height);
      else {
        t0 = performance.now();
        mask = await runtime.upsample(inferred.map, pre.plan, photo, post);
        timingsMs.upsample = round1(performance.now() - t0);
      }
      return {
        mask,
        subject,
        plan: pre.plan,
        map: inferred.map,
        ...(inferred.probabilities ? { probabilities: inferred.probabilities } : {}),
        ...(inferred.modelMs !== undefined ? { modelMs: inferred.modelMs } : {}),
        timingsMs,
      };
    },
  };
}

/**
 * The model step over a runtime's single call, one photo at a time (no batching): the page and
 * the parity helper. `keepProbabilities` also returns the float map, cropped to the plan.
 */
export function inferUnbatched(card: Pick<SegmenterCard, 'input'>, run: RunModel, options: { keepProbabilities?: boolean } = {}): Infer {
  return async (pre) => {
    const { data, dims } = assembleBatch([pre], card.input.padValue);
    const t0 = performance.now();
    const out = await run(data, dims);
    const modelMs = performance.now() - t0;
    const { plan } = pre;
    const map = probabilitiesToMask(out, 0, dims[2], dims[3], plan);
    if (!options.keepProbabilities) return { map, modelMs };
    const W = dims[3];
    const probabilities = new Float32Array(plan.width * plan.height);
    for (let y = 0; y < plan.height; y++) probabilities.set(out.subarray(y * W, y * W + plan.width), y * plan.width);
    return { map, probabilities, modelMs };
  };
}

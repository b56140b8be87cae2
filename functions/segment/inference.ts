/**
 * The segmenter: model card -> pre-process -> run -> post-process, in Node. The worker, `greenscreen
 * eval` and the benchmarks all go through this module, so the quality we measure is the quality we
 * serve. The arithmetic (sizes, Pillow-exact resize, normalisation, padding, batching, cropping the
 * probabilities) is the pure #core/segmentation, which a browser page runs too; this file adds only
 * what is Node's: the onnxruntime-node session on its thread, dynamic batching, and sharp to upsample
 * the mask to the photo's size.
 *
 *   const segmenter = await createSegmenter(await loadModelCard(path), { provider: 'cpu', threads: 2 });
 *   const { mask } = await segmenter.segment(await decodeImage(bytes, limits)); // mask: w x h, 8-bit
 *   await segmenter.release();
 */
import {
  assembleBatch,
  preprocess as preprocessPixels,
  probabilitiesToMask,
  type InputPlan,
  type Preprocessed,
} from '#core/segmentation';
import type { LoadedCard, ModelCard } from './model-card.ts';
import { createModelSession, type ModelSession, type SessionOptions } from './model-session.ts';
import { EDGE_POSTPROCESS, guidedUpsample, upsampleWithCurve, type EdgePostProcess } from './edges.ts';
import { resizeGrey } from './image.ts';

export { assembleBatch, planInput, type Batch, type InputPlan, type Preprocessed } from '#core/segmentation';

/** Pre-processing of a decoded photo (upright sRGB, 3 channels), exactly as #core/segmentation does it. */
export async function preprocess(img: { rgb: Buffer; width: number; height: number }, card: ModelCard): Promise<Preprocessed> {
  return preprocessPixels({ data: img.rgb, width: img.width, height: img.height, channels: 3 }, card);
}

/** The n-th probability map of a batch output, cropped to the un-padded plan, as 8-bit. */
export function extractProbability(out: Float32Array, n: number, H: number, W: number, plan: InputPlan): Buffer {
  const mask = probabilitiesToMask(out, n, H, W, plan);
  return Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength);
}

/** The soft mask at the photo's original size (bilinear, sharp). */
export function maskAtOriginal(prob: Buffer, plan: InputPlan, width: number, height: number): Promise<Buffer> {
  return resizeGrey(prob, plan, width, height);
}

/**
 * Post-process: the model's map -> the soft mask at the photo's size, without background haze
 * (edges.ts: the served setting, EDGE_POSTPROCESS, and the measured alternative of guided upsampling).
 */
export async function upsampleMask(
  prob: Buffer,
  plan: InputPlan,
  img: { rgb: Buffer; width: number; height: number },
  edges: EdgePostProcess = EDGE_POSTPROCESS,
): Promise<Buffer> {
  if (edges.guided) return guidedUpsample(prob, plan, img, edges.guided, edges.haze);
  if (edges.haze) return upsampleWithCurve(prob, plan, img.width, img.height, edges.haze);
  return maskAtOriginal(prob, plan, img.width, img.height);
}

interface Pending {
  item: Preprocessed;
  resolve: (prob: Buffer) => void;
  reject: (err: unknown) => void;
}

export interface BatchStats {
  batches: number;
  items: number;
  modelMs: number;
}

/**
 * Dynamic batching: whatever is waiting when the model becomes free runs together (up to
 * maxBatch). While one batch runs, the next one fills up from jobs that finished decoding.
 */
export class InferenceBatcher {
  private queue: Pending[] = [];
  private running = false;
  readonly stats: BatchStats = { batches: 0, items: 0, modelMs: 0 };

  constructor(
    private readonly session: ModelSession,
    private readonly card: ModelCard,
    private readonly maxBatch: number,
  ) {}

  infer(item: Preprocessed): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      void this.pump();
    });
  }

  /**
   * The oldest item and up to maxBatch - 1 more of the same padded size, in arrival order. Photos
   * of other sizes wait for a batch of their own: padding one photo up to another's size would put
   * a flat region the model never saw in training next to it, and its mask would depend on which
   * photos it happened to share a batch with.
   */
  private takeSameSize(): Pending[] {
    const { paddedWidth: w, paddedHeight: h } = this.queue[0]!.item.plan;
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      const same = p.item.plan.paddedWidth === w && p.item.plan.paddedHeight === h;
      (same && batch.length < this.maxBatch ? batch : rest).push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.takeSameSize();
        try {
          const { data, dims } = assembleBatch(batch.map((b) => b.item), this.card.input.padValue);
          const t0 = performance.now();
          const out = await this.session.run(data, dims);
          this.stats.modelMs += performance.now() - t0;
          this.stats.batches++;
          this.stats.items += batch.length;
          batch.forEach((b, n) => b.resolve(extractProbability(out, n, dims[2], dims[3], b.item.plan)));
        } catch (err) {
          batch.forEach((b) => b.reject(err));
        }
      }
    } finally {
      this.running = false;
    }
  }
}

export interface SegmentTimings {
  preprocess: number;
  inference: number;
  upsample: number;
}

export interface Segmentation {
  /** Soft mask (probability x 255) at the photo's size. */
  mask: Buffer;
  /** The model's input size for this photo. */
  plan: InputPlan;
  timingsMs: SegmentTimings;
}

/** One model, loaded once: what the worker, eval and the benchmarks hold. */
export interface Segmenter {
  readonly card: ModelCard;
  readonly session: ModelSession;
  readonly batcher: InferenceBatcher;
  /** Decoded photo (upright sRGB, 3 channels) -> soft mask at its size. Concurrent calls are batched. */
  segment(img: { rgb: Buffer; width: number; height: number }): Promise<Segmentation>;
  release(): Promise<void>;
}

export interface SegmenterOptions extends SessionOptions {
  /** Most photos run together in one session call (dynamic batching). */
  maxBatch?: number;
  /** Post-processing of the mask (default: the serving setting, EDGE_POSTPROCESS). */
  edges?: EdgePostProcess;
}

const since = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

export async function createSegmenter(loaded: LoadedCard, options: SegmenterOptions): Promise<Segmenter> {
  const session = await createModelSession(loaded, options);
  const { card } = loaded;
  const batcher = new InferenceBatcher(session, card, options.maxBatch ?? 1);
  return {
    card,
    session,
    batcher,
    async segment(img) {
      let t0 = performance.now();
      const pre = await preprocess(img, card);
      const preprocessMs = since(t0);
      t0 = performance.now();
      const prob = await batcher.infer(pre);
      const inference = since(t0);
      t0 = performance.now();
      const mask = await upsampleMask(prob, pre.plan, img, options.edges);
      return { mask, plan: pre.plan, timingsMs: { preprocess: preprocessMs, inference, upsample: since(t0) } };
    },
    release: () => session.release(),
  };
}

/**
 * The segmenter in Node: #segmenter/segmenter's one composition (pre-process -> model -> subject
 * rule -> upsampling and haze curve) with what is Node's: the onnxruntime-node session on its
 * thread, dynamic batching, and sharp/libvips to upsample the mask to the photo's size. The worker,
 * `greenscreen eval` and the benchmarks all go through this module, so the quality we measure is
 * the quality we serve.
 *
 *   const segmenter = await createSegmenter(await loadModelCard(path), { provider: 'cpu', threads: 2 });
 *   const { mask, subject } = await segmenter.segment(await decodeImage(bytes, limits)); // mask: w x h, 8-bit
 *   await segmenter.release();
 */
import type { ModelCard } from '#segmenter/card';
import { EDGE_POSTPROCESS, type EdgePostProcess } from '#segmenter/mask-curve';
import { assembleBatch, preprocess as preprocessPixels, probabilitiesToMask, type InputPlan, type Pixels, type Preprocessed } from '#segmenter/segmentation';
import { composeSegmenter, type ComposedSegmenter, type Infer, type Segmentation } from '#segmenter/segmenter';
import type { LoadedCard } from './model-card.ts';
import { createModelSession, type ModelSession, type SessionOptions } from './model-session.ts';
import { guidedUpsample, upsampleWithCurve } from './mask-upsampling.ts';
import { resizeGrey } from './image.ts';

export { assembleBatch, planInput, type Batch, type InputPlan, type Preprocessed } from '#segmenter/segmentation';

/** A decoded photo as the worker holds it (functions/segment/image.ts): upright sRGB, 3 channels. */
export interface RgbImage {
  rgb: Buffer;
  width: number;
  height: number;
}

const asBuffer = (a: Uint8Array): Buffer => (Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength));
const pixelsOf = (img: RgbImage): Pixels => ({ data: img.rgb, width: img.width, height: img.height, channels: 3 });

/** Pre-processing of a decoded photo (upright sRGB, 3 channels), exactly as #segmenter/segmentation does it. */
export async function preprocess(img: RgbImage, card: ModelCard): Promise<Preprocessed> {
  return preprocessPixels(pixelsOf(img), card);
}

/** The n-th probability map of a batch output, cropped to the un-padded plan, as 8-bit. */
export function extractProbability(out: Float32Array, n: number, H: number, W: number, plan: InputPlan): Buffer {
  return asBuffer(probabilitiesToMask(out, n, H, W, plan));
}

/** The soft mask at the photo's original size (bilinear, sharp). */
export function maskAtOriginal(prob: Buffer, plan: InputPlan, width: number, height: number): Promise<Buffer> {
  return resizeGrey(prob, plan, width, height);
}

/**
 * The upsampling step in Node: the model's map -> the soft mask at the photo's size, finished with
 * `edges` (mask-upsampling.ts: the served setting, EDGE_POSTPROCESS, and the measured alternative of guided
 * upsampling). The subject rule comes before it, in #segmenter/segmenter.
 */
export async function upsampleMask(prob: Buffer, plan: InputPlan, img: RgbImage, edges: EdgePostProcess = EDGE_POSTPROCESS): Promise<Buffer> {
  if (edges.guided) return guidedUpsample(prob, plan, img, edges.guided, edges.haze);
  if (edges.haze) return upsampleWithCurve(prob, plan, img.width, img.height, edges.haze);
  return maskAtOriginal(prob, plan, img.width, img.height);
}

/** #segmenter/segmenter's composition with Node's upsampling, over any model step (batched or not). */
export function composeNodeSegmenter(card: ModelCard, infer: Infer, edges: EdgePostProcess = EDGE_POSTPROCESS): ComposedSegmenter<Buffer> {
  return composeSegmenter(
    card,
    {
      infer,
      upsample: (map, plan, photo, post) => upsampleMask(asBuffer(map), plan, { rgb: asBuffer(photo.data), width: photo.width, height: photo.height }, post),
      empty: (width, height) => Buffer.alloc(width * height),
    },
    edges,
  );
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

export type { SegmentTimings } from '#segmenter/segmenter';
/** The finished mask (a Buffer), the subject, the plan and the model's map: see #segmenter/segmenter. */
export type NodeSegmentation = Segmentation<Buffer>;

/** One model, loaded once: what the worker, eval and the benchmarks hold. */
export interface Segmenter {
  readonly card: ModelCard;
  readonly session: ModelSession;
  readonly batcher: InferenceBatcher;
  /** Decoded photo (upright sRGB, 3 channels) -> the finished mask at its size. Concurrent calls are batched. */
  segment(img: RgbImage): Promise<NodeSegmentation>;
  release(): Promise<void>;
}

export interface SegmenterOptions {
  /** Most photos run together in one session call (dynamic batching). */
  maxBatch?: number;
  /** Post-processing of the mask (default: the serving setting, EDGE_POSTPROCESS). */
  edges?: EdgePostProcess;
}

/** The segmenter over a session already created (a real one, or a test's fake). */
export function segmenterOnSession(session: ModelSession, card: ModelCard, options: SegmenterOptions = {}): Segmenter {
  const batcher = new InferenceBatcher(session, card, options.maxBatch ?? 1);
  const composed = composeNodeSegmenter(card, async (pre) => ({ map: await batcher.infer(pre) }), options.edges);
  return {
    card,
    session,
    batcher,
    segment: (img) => composed.segment(pixelsOf(img)),
    release: () => session.release(),
  };
}

export async function createSegmenter(loaded: LoadedCard, options: SegmenterOptions & SessionOptions): Promise<Segmenter> {
  return segmenterOnSession(await createModelSession(loaded, options), loaded.card, options);
}

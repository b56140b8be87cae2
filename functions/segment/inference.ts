/**
 * Pre-process -> run -> post-process, exactly as the card says. The worker and `greenscreen eval`
 * both use this module, so the quality we measure is the quality we serve.
 */
import type { ModelCard } from './model-card.ts';
import type { ModelSession } from './model.ts';
import { resizeGrey, resizeRgb } from './image.ts';

export interface InputPlan {
  /** Size the photo is resized to (aspect ratio preserved, long side = card.input.longSide). */
  width: number;
  height: number;
  /** Padded up to card.input.sizeMultiple (bottom/right padding). */
  paddedWidth: number;
  paddedHeight: number;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

export function planInput(width: number, height: number, card: ModelCard): InputPlan {
  const { longSide, sizeMultiple } = card.input;
  const scale = longSide / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return { width: w, height: h, paddedWidth: roundUp(w, sizeMultiple), paddedHeight: roundUp(h, sizeMultiple) };
}

export interface Preprocessed {
  plan: InputPlan;
  /** 3 x paddedHeight x paddedWidth, normalised, padding = card.input.padValue. */
  tensor: Float32Array;
}

export async function preprocess(img: { rgb: Buffer; width: number; height: number }, card: ModelCard): Promise<Preprocessed> {
  const plan = planInput(img.width, img.height, card);
  const small = await resizeRgb(img, plan.width, plan.height);
  const { paddedWidth: pw, paddedHeight: ph } = plan;
  const plane = pw * ph;
  const tensor = new Float32Array(3 * plane).fill(card.input.padValue);
  const [m0, m1, m2] = card.input.mean;
  const [s0, s1, s2] = card.input.std;
  const a0 = 1 / (255 * s0), a1 = 1 / (255 * s1), a2 = 1 / (255 * s2);
  const b0 = -m0 / s0, b1 = -m1 / s1, b2 = -m2 / s2;
  for (let y = 0; y < plan.height; y++) {
    let src = y * plan.width * 3;
    let dst = y * pw;
    for (let x = 0; x < plan.width; x++, src += 3, dst++) {
      tensor[dst] = small[src]! * a0 + b0;
      tensor[plane + dst] = small[src + 1]! * a1 + b1;
      tensor[2 * plane + dst] = small[src + 2]! * a2 + b2;
    }
  }
  return { plan, tensor };
}

export interface Batch {
  data: Float32Array;
  dims: [number, number, number, number];
}

/** Stack items into one NCHW batch, padding each to the largest padded size in the batch. */
export function assembleBatch(items: readonly Preprocessed[], padValue: number): Batch {
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

/** The n-th probability map of a batch output, cropped to the un-padded plan, as 8-bit. */
export function extractProbability(out: Float32Array, n: number, H: number, W: number, plan: InputPlan): Buffer {
  const prob = Buffer.allocUnsafe(plan.width * plan.height);
  const base = n * H * W;
  for (let y = 0; y < plan.height; y++) {
    const row = base + y * W;
    for (let x = 0; x < plan.width; x++) {
      const p = out[row + x]!;
      prob[y * plan.width + x] = p <= 0 ? 0 : p >= 1 ? 255 : Math.round(p * 255);
    }
  }
  return prob;
}

/** The soft mask at the photo's original size. */
export function maskAtOriginal(prob: Buffer, plan: InputPlan, width: number, height: number): Promise<Buffer> {
  return resizeGrey(prob, plan, width, height);
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

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
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

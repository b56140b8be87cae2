/**
 * The shipped model in the page: onnxruntime-web talks to the runtime, #core/segmentation does the
 * pre- and post-processing (the very module the worker runs). WebGPU where the browser has an
 * adapter, WASM (SIMD, threads when the page is cross-origin isolated) otherwise; the runtime, the
 * model and its card come from this page's own origin.
 */
import type * as Ort from 'onnxruntime-web';
import { segmentPixels, type InputPlan, type Pixels, type SegmenterCard } from '#core/segmentation';

export interface PageCard extends SegmenterCard {
  name: string;
  version: string;
  file: string;
  sha256: string;
  bytes?: number;
}

export type Backend = 'webgpu' | 'wasm';

export interface Segmentation {
  plan: InputPlan;
  /** Probability x 255 at the model's size (plan.width x plan.height). */
  mask: Uint8Array;
  /** The model's own float probabilities, cropped to the plan (for comparisons). */
  probabilities: Float32Array;
  /** Pre-process + model + post-process. */
  ms: number;
  modelMs: number;
}

export interface PageSegmenter {
  card: PageCard;
  backend: Backend;
  threads: number;
  segment(pixels: Pixels): Promise<Segmentation>;
}

/** A failure the page explains to the person: what was expected, what happened. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

async function fetchOk(url: URL, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new ModelLoadError(`Expected to download ${what} from ${url.pathname} but the request failed: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new ModelLoadError(`Expected ${what} at ${url.pathname} but the server answered ${res.status} ${res.statusText}`);
  return res;
}

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/**
 * Loads the card and the weights (checking the card's SHA-256, as the worker does), picks the
 * backend, and creates the session. `prefer: 'wasm'` skips the WebGPU probe.
 */
export async function loadSegmenter(base: URL, options: { prefer?: Backend } = {}): Promise<PageSegmenter> {
  const card = (await (await fetchOk(new URL('model/card.json', base), 'the model card')).json()) as PageCard;
  const weights = await (await fetchOk(new URL(`model/${card.file}`, base), `the model weights (${card.file})`)).arrayBuffer();
  const digest = hex(await crypto.subtle.digest('SHA-256', weights));
  if (digest !== card.sha256) {
    throw new ModelLoadError(`Expected ${card.file} to have SHA-256 ${card.sha256} (from its card) but it has ${digest}`);
  }

  const backend: Backend = options.prefer !== 'wasm' && (await hasWebGpu()) ? 'webgpu' : 'wasm';
  // Two builds of onnxruntime-web: the WebGPU one needs a larger runtime, so a page without WebGPU
  // never downloads it.
  const ort: typeof Ort = backend === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
  ort.env.wasm.wasmPaths = new URL('ort/', base).href;
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP + COEP headers).
  const threads = globalThis.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  // WASM inference in onnxruntime-web's own worker: the page stays responsive while the model runs
  // (measured on 4 photos: the longest main-thread stall fell from 1.9 s to 0.17 s, the rest being
  // decode and pre-processing). The WebGPU build does not support the proxy.
  ort.env.wasm.proxy = backend === 'wasm';

  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(new Uint8Array(weights), {
      executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3, // errors only: its placement notes are not the person's concern
    });
  } catch (err) {
    throw new ModelLoadError(`Expected onnxruntime-web (${backend}) to load ${card.name}@${card.version} but it failed: ${(err as Error).message}`, {
      cause: err,
    });
  }

  const run = async (data: Float32Array, dims: readonly [number, number, number, number]) => {
    const input = new ort.Tensor('float32', data, [...dims]);
    const outputs = await session.run({ [card.input.name]: input });
    const out = outputs[card.output.name];
    if (!out) throw new ModelLoadError(`Expected the model to output "${card.output.name}" but it gave ${Object.keys(outputs).join(', ')}`);
    const values = (await out.getData()) as Float32Array;
    input.dispose();
    out.dispose();
    return values;
  };

  return {
    card,
    backend,
    threads,
    async segment(pixels) {
      const t0 = performance.now();
      let raw: { out: Float32Array; dims: readonly number[] } | undefined;
      let modelMs = 0;
      const { plan, mask } = await segmentPixels(pixels, card, async (data, dims) => {
        const m0 = performance.now();
        const out = await run(data, dims);
        modelMs = performance.now() - m0;
        raw = { out, dims };
        return out;
      });
      const ms = performance.now() - t0;
      const W = raw!.dims[3]!;
      const probabilities = new Float32Array(plan.width * plan.height);
      for (let y = 0; y < plan.height; y++) probabilities.set(raw!.out.subarray(y * W, y * W + plan.width), y * plan.width);
      return { plan, mask, probabilities, ms, modelMs };
    },
  };
}

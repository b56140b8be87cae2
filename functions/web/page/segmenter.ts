/**
 * The shipped model in the page: onnxruntime-web talks to the runtime; #segmenter/segmenter's one
 * composition (pre-process, model, the subject rule, upsampling and the haze curve: the very path the
 * worker runs) does the rest, with a canvas to upsample (pixels.ts). WebGPU where the browser has an
 * adapter, WASM (SIMD, threads when the page is cross-origin isolated) otherwise; the runtime, the
 * model and its card come from this page's own origin.
 */
import type * as Ort from 'onnxruntime-web';
import { parseModelCard, type ModelCard } from '#segmenter/card';
import type { Pixels } from '#segmenter/segmentation';
import { composeSegmenter, inferUnbatched, type Segmentation as Composed } from '#segmenter/segmenter';
import { finishMask } from './pixels.ts';

export type Backend = 'webgpu' | 'wasm';

/** The composed segmentation, plus what the page's hook shows (its test and benchmark read them). */
export interface Segmentation extends Composed {
  /** The model's own float probabilities, cropped to the plan (for comparisons). */
  probabilities: Float32Array;
  /** Pre-process + model + post-process (to the finished full-size mask). */
  ms: number;
  modelMs: number;
}

export interface PageSegmenter {
  card: ModelCard;
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
  const cardUrl = new URL('model/card.json', base);
  let card: ModelCard;
  try {
    card = parseModelCard(await (await fetchOk(cardUrl, 'the model card')).text(), cardUrl.pathname);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError((err as Error).message, { cause: err });
  }
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

  const composed = composeSegmenter(card, {
    infer: inferUnbatched(card, run, { keepProbabilities: true }),
    upsample: async (map, plan, photo, post) => finishMask(map, plan, photo.width, photo.height, post.haze),
    empty: (width, height) => new Uint8Array(width * height),
  });

  return {
    card,
    backend,
    threads,
    async segment(pixels) {
      const t0 = performance.now();
      const result = await composed.segment(pixels);
      return { ...result, probabilities: result.probabilities!, modelMs: result.modelMs!, ms: performance.now() - t0 };
    },
  };
}

/** The onnxruntime session, and nothing else: providers, threads, one `run`. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelError } from '#core/errors';
import type { LoadedCard } from './model-card.ts';

export type ExecutionProviderChoice = 'auto' | 'cuda' | 'cpu';

export interface SessionOptions {
  provider: ExecutionProviderChoice;
  /** Intra-op threads; 0 = onnxruntime's default (all cores). */
  threads: number;
}

export interface ModelSession {
  readonly provider: 'cuda' | 'cpu';
  /** NCHW float32 in, N x 1 x H x W probabilities out. */
  run(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array>;
  release(): Promise<void>;
}

async function create(weights: Buffer, providers: string[], threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(weights, {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: 1,
    // Spinning threads would steal the cores sharp needs to decode and encode around inference.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

/**
 * Is onnxruntime-node's CUDA provider library installed? (The GPU image installs it at build time;
 * a CPU machine does not have it, and trying to load it only prints a scary error.)
 */
export function cudaProviderInstalled(): boolean {
  const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(join(root, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}

/** CUDA when asked for or available, CPU otherwise ('cuda' fails loudly if it cannot load). */
export async function createModelSession(loaded: LoadedCard, options: SessionOptions): Promise<ModelSession> {
  let session: ort.InferenceSession | undefined;
  let provider: 'cuda' | 'cpu' = 'cpu';
  if (options.provider === 'cuda' || (options.provider === 'auto' && cudaProviderInstalled())) {
    try {
      session = await create(loaded.weights, ['cuda'], options.threads);
      provider = 'cuda';
    } catch (err) {
      if (options.provider === 'cuda') {
        throw new ModelError(`Expected the CUDA execution provider to load but it failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  if (!session) {
    try {
      session = await create(loaded.weights, ['cpu'], options.threads);
    } catch (err) {
      throw new ModelError(`Expected ${loaded.modelPath} to load in onnxruntime but it failed: ${(err as Error).message}`, { cause: err });
    }
  }
  const s = session;
  const { input: inputSpec, output: outputSpec } = loaded.card;
  if (!s.inputNames.includes(inputSpec.name) || !s.outputNames.includes(outputSpec.name)) {
    throw new ModelError(
      `Expected the model to have input ${inputSpec.name} and output ${outputSpec.name} (from its card) but it has inputs [${s.inputNames}] and outputs [${s.outputNames}]`,
    );
  }
  return {
    provider,
    async run(input, dims) {
      try {
        const out = await s.run({ [inputSpec.name]: new ort.Tensor('float32', input, dims as unknown as number[]) });
        return out[outputSpec.name]!.data as Float32Array;
      } catch (err) {
        throw new ModelError(`Inference failed for a batch of ${dims[0]} at ${dims[3]}x${dims[2]}: ${(err as Error).message}`, { cause: err, retryable: true });
      }
    },
    release: () => s.release(),
  };
}

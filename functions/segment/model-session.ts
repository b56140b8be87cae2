/** The onnxruntime session, and nothing else: providers, threads, one `run`, on its own thread. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ModelError } from '#core/errors';
import type { LoadedCard } from './model-card.ts';

export type ExecutionProviderChoice = 'auto' | 'cuda' | 'cpu';

export interface SessionOptions {
  provider: ExecutionProviderChoice;
  /** Intra-op threads; 0 = onnxruntime's default (all cores). */
  threads: number;
  /** The inference thread's script (default model-host.mjs; tests substitute one that fails). */
  host?: URL;
}

export interface ModelSession {
  readonly provider: 'cuda' | 'cpu';
  /** OS thread ids (Linux) of the threads that run inference; empty where unknown. */
  readonly threadIds: readonly number[];
  /** NCHW float32 in, N x 1 x H x W probabilities out. */
  run(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array>;
  release(): Promise<void>;
  /**
   * Called once if the session dies on its own (not after release): every later run fails, so the
   * owner should stop taking work and let its supervisor (ECS) start a fresh process.
   */
  onFailure?(listener: (err: Error) => void): void;
}

interface HostReply {
  type: 'ready' | 'load-failed' | 'result' | 'error' | 'released';
  id?: number;
  message?: string;
  output?: Float32Array;
  inputNames?: string[];
  outputNames?: string[];
  threadIds?: number[];
}

/**
 * One onnxruntime session on its own thread (model-host.mjs): `run` in onnxruntime-node blocks the
 * calling thread for the whole batch, so on the main thread it would stall every download, upload,
 * queue call and codec completion that should overlap inference (measured: bench/pipeline.ts).
 */
class ThreadedSession implements ModelSession {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (out: Float32Array) => void; reject: (err: Error) => void; dims: readonly number[] }>();
  private dead?: Error;
  private releasing = false;
  private readonly failureListeners: ((err: Error) => void)[] = [];

  private constructor(
    private readonly thread: Worker,
    readonly provider: 'cuda' | 'cpu',
    readonly threadIds: readonly number[],
  ) {
    thread.on('message', (reply: HostReply) => {
      if (reply.id === undefined) return;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.settled(reply.id);
      if (reply.type === 'result') p.resolve(reply.output!);
      else p.reject(new ModelError(`Inference failed for a batch of ${p.dims[0]} at ${p.dims[3]}x${p.dims[2]}: ${reply.message}`, { retryable: true }));
    });
    const fail = (err: Error) => {
      if (this.dead) return;
      this.dead = new ModelError(`The inference thread stopped: ${err.message}`, { cause: err, retryable: true });
      for (const [id, p] of this.pending) {
        this.settled(id);
        p.reject(this.dead);
      }
      if (!this.releasing) for (const listener of this.failureListeners) listener(this.dead);
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    thread.unref();
  }

  /** Resolves once the thread's session loaded, or rejects with onnxruntime's reason. */
  static async start(loaded: LoadedCard, providers: string[], threads: number, host?: URL): Promise<ThreadedSession> {
    const thread = new Worker(host ?? new URL('./model-host.mjs', import.meta.url), {
      workerData: {
        weights: loaded.weights,
        providers,
        threads,
        inputName: loaded.card.input.name,
        outputName: loaded.card.output.name,
      },
    });
    const reply = await new Promise<HostReply>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the inference thread exited (code ${code}) before its session loaded`)));
    });
    if (reply.type !== 'ready') {
      await thread.terminate();
      throw new Error(reply.message ?? 'the inference thread did not start');
    }
    const { input, output } = loaded.card;
    if (!reply.inputNames!.includes(input.name) || !reply.outputNames!.includes(output.name)) {
      await thread.terminate();
      throw new ModelError(
        `Expected the model to have input ${input.name} and output ${output.name} (from its card) but it has inputs [${reply.inputNames}] and outputs [${reply.outputNames}]`,
      );
    }
    return new ThreadedSession(thread, providers[0] === 'cuda' ? 'cuda' : 'cpu', reply.threadIds ?? []);
  }

  run(input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, dims });
      // The thread keeps the process alive only while it has work.
      if (this.pending.size === 1) this.thread.ref();
      this.thread.postMessage({ type: 'run', id, input, dims: [...dims] });
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.thread.unref();
  }

  onFailure(listener: (err: Error) => void): void {
    this.failureListeners.push(listener);
  }

  async release(): Promise<void> {
    if (this.dead) return;
    this.releasing = true;
    this.thread.ref();
    const released = new Promise<void>((resolve) => {
      const onReply = (reply: HostReply) => reply.type === 'released' && resolve();
      this.thread.on('message', onReply);
      this.thread.once('exit', () => resolve());
    });
    this.thread.postMessage({ type: 'release' });
    await released;
    await this.thread.terminate();
  }
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
  if (options.provider === 'cuda' || (options.provider === 'auto' && cudaProviderInstalled())) {
    try {
      return await ThreadedSession.start(loaded, ['cuda'], options.threads, options.host);
    } catch (err) {
      if (err instanceof ModelError) throw err;
      if (options.provider === 'cuda') {
        throw new ModelError(`Expected the CUDA execution provider to load but it failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  try {
    return await ThreadedSession.start(loaded, ['cpu'], options.threads, options.host);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError(`Expected ${loaded.modelPath} to load in onnxruntime but it failed: ${(err as Error).message}`, { cause: err });
  }
}

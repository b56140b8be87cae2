// The onnxruntime session's own thread (see model-session.ts). onnxruntime-node's `run` is synchronous on
// the calling thread: run on the main thread it would freeze the event loop for a whole batch, and
// with it every download, upload, queue call and codec completion that should overlap inference.
// Plain JavaScript so that it loads the same way under tsx, vitest and a bundler.
import { readdirSync, readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** @type {{ weights: Uint8Array, providers: string[], threads: number, inputName: string, outputName: string }} */
const config = workerData;

async function create() {
  return ort.InferenceSession.create(config.weights, {
    executionProviders: config.providers,
    graphOptimizationLevel: 'all',
    ...(config.threads > 0 ? { intraOpNumThreads: config.threads } : {}),
    interOpNumThreads: 1,
    // Spinning threads would steal the cores sharp needs to decode and encode around inference.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

/** Linux thread ids of this process (empty elsewhere). */
function taskIds() {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

let session;
try {
  const before = new Set(taskIds());
  session = await create();
  // This thread and the intra-op threads onnxruntime just started: the threads that run inference.
  const own = (() => {
    try {
      return [Number(readlinkSync('/proc/thread-self').split('/').pop())];
    } catch {
      return [];
    }
  })();
  const threadIds = [...new Set([...own, ...taskIds().filter((t) => !before.has(t))])];
  parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, threadIds });
} catch (err) {
  parentPort.postMessage({ type: 'load-failed', message: err instanceof Error ? err.message : String(err) });
}

parentPort.on('message', async (msg) => {
  if (msg.type === 'release') {
    await session?.release();
    parentPort.postMessage({ type: 'released' });
    parentPort.close();
    return;
  }
  try {
    const out = await session.run({ [config.inputName]: new ort.Tensor('float32', msg.input, msg.dims) });
    const data = /** @type {Float32Array} */ (out[config.outputName].data);
    // A fresh copy owned by this message, handed over without another copy.
    const result = data.slice();
    parentPort.postMessage({ type: 'result', id: msg.id, output: result }, [result.buffer]);
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
});

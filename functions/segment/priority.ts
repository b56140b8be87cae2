/**
 * Inference first. On a CPU-only machine the model is the bottleneck of the worker: every other
 * thread (the event loop with its S3/SQS I/O, libuv's pool and libvips' threads decoding and
 * encoding) should fill the gaps around it, not take turns with it. Raising the inference threads'
 * priority needs privileges, lowering the others' does not, so the others are lowered (Linux: nice
 * is per thread, and threads created later inherit it from the thread that creates them).
 * Measured with `npm run bench:pipeline` (see README).
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface DeprioritiseResult {
  /** Threads lowered to `nice`. */
  lowered: number;
  /** Threads left as they were (inference, or gone meanwhile). */
  kept: number;
}

/** Lowers every thread of this process except `keep` to `nice` (0 = do nothing; never raises one). Best effort. */
export function deprioritiseAllBut(keep: readonly number[], nice: number): DeprioritiseResult {
  if (nice <= 0 || keep.length === 0) return { lowered: 0, kept: 0 };
  let tasks: number[];
  try {
    tasks = readdirSync('/proc/self/task').map(Number);
  } catch {
    return { lowered: 0, kept: 0 }; // not Linux: per-thread priorities are not available
  }
  const spare = new Set(keep);
  let lowered = 0;
  for (const tid of tasks) {
    if (spare.has(tid)) continue;
    try {
      if (getPriority(tid) >= nice) continue; // already as low or lower: never raise a thread
      setPriority(tid, nice);
      lowered++;
    } catch {
      // the thread ended in the meantime
    }
  }
  return { lowered, kept: tasks.length - lowered };
}

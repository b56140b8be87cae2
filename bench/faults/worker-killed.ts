/** The worker, a process of its own, killed with SIGKILL mid-batch; a new one takes over. */
import { spawnWorker } from '#harness/child-worker';
import { uploadAll } from '#harness/pipeline';
import { startLocalStack } from '#local/stack';
import { photos, row, settle, type FaultBench, type ScenarioRow } from './scenario.ts';

export async function workerKilled(bench: FaultBench): Promise<ScenarioRow> {
  const started = performance.now();
  const stack = await startLocalStack({ ...bench.stackDefaults, worker: false, visibilitySeconds: 10 });
  const first = spawnWorker(stack, { visibilitySeconds: 10, batchSize: 4, threads: bench.threads });
  let second: ReturnType<typeof spawnWorker> | undefined;
  try {
    const uploads = await photos('kill', 16, 0);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    await first.waitFor(() => first.count('job succeeded') >= 2, 120_000, 'two finished jobs');
    first.kill('SIGKILL');
    await first.exited;
    const before = first.count('job succeeded');
    second = spawnWorker(stack, { visibilitySeconds: 10, batchSize: 4, threads: bench.threads });
    const keys = uploads.map((u) => u.key);
    const audit = await settle(bench, stack, keys, 180_000);
    // Jobs the killed process held: re-done (attempts > 1), or found committed and only re-announced.
    const redone = [...audit.results.values()].filter((r) => r.attempts > 1).length;
    const reannounced = second.count('job duplicate');
    return row(
      'worker SIGKILL mid-batch',
      `1 kill -9 after ${before} of ${keys.length} jobs; the new process re-did ${redone} it held and re-announced ${reannounced} it had committed`,
      keys,
      audit,
      started,
    );
  } finally {
    if (first.process.exitCode === null && first.process.signalCode === null) first.kill('SIGKILL');
    second?.kill('SIGTERM');
    await second?.exited;
    await stack.stop();
  }
}

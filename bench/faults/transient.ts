/** Transient S3 and SQS errors injected into the stack's adapters, by a plan (every Nth call, or seeded random). */
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import type { FaultInjector } from '#harness/faults';
import { startStackWithFaults, uploadAll, type FaultPlan } from '#harness/pipeline';
import { photos, row, settle, type FaultBench, type ScenarioRow } from './scenario.ts';

export async function transient(bench: FaultBench, name: string, plan: FaultPlan, from: number): Promise<ScenarioRow> {
  const started = performance.now();
  const run = await startStackWithFaults(plan, { ...bench.stackDefaults, visibilitySeconds: 3, retryBaseSeconds: 1, maxReceiveCount: 10 });
  try {
    const uploads = await photos(`flaky-${from}`, 10, from);
    const keys = uploads.map((u) => u.key);
    await uploadAll(new S3ObjectStore(run.stack.s3), run.stack.resources.bucket, uploads);
    const audit = await settle(bench, run.stack, keys, 180_000);
    const { store, jobs, events } = run.faults;
    const detail = (f: FaultInjector) =>
      Object.entries(f.counts)
        .filter(([, c]) => c.faults > 0)
        .map(([m, c]) => `${m} ${c.faults}`)
        .join(', ');
    return row(
      name,
      `${store.faults + jobs.faults + events.faults} faults: S3 (${detail(store)}); jobs queue (${detail(jobs)}); events queue (${detail(events)})`,
      keys,
      audit,
      started,
    );
  } finally {
    await run.stop();
  }
}

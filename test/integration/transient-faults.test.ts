/**
 * S3 and SQS failing now and then (injected at the adapter boundary, deterministically): some
 * calls fail before reaching the service, some after it did the work (the caller hears a failure
 * anyway, the case that makes duplicates). Jobs are retried with backoff; none is lost, no source
 * gets a second result set, and each job's webhook arrives once after de-duplication.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { readPhoto } from '#harness/images';
import { captureLogs, type CapturedLogs } from '#test/logs';
import { startStackWithFaults, uploadAll, waitForWebhooks, type FaultPlan, type FaultyStack } from '#harness/pipeline';
import { expectAllSucceededOnce } from '#test/pipeline-assertions';

const PHOTOS = 6;

const EVERY_NTH: FaultPlan = {
  store: { everyNth: 3, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 6, seed: 11 },
  jobs: { everyNth: 4, methods: ['sendBatch', 'receive', 'delete', 'release'], timing: 'mixed', maxFaults: 6, seed: 12 },
  events: { everyNth: 2, methods: ['sendBatch'], timing: 'mixed', maxFaults: 3, seed: 13 },
};

const PROBABILITY: FaultPlan = {
  // Not 'list': the S3 event source lists every 100 ms and would soak up the faults.
  store: { probability: 0.2, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 8, seed: 21 },
  jobs: { probability: 0.2, timing: 'mixed', maxFaults: 8, seed: 22 },
  events: { probability: 0.3, timing: 'mixed', maxFaults: 4, seed: 23 },
};

let run: FaultyStack | undefined;
let logs: CapturedLogs | undefined;

afterEach(async () => {
  await run?.stop();
  logs?.restore();
}, 60_000);

describe('transient S3 and SQS faults', () => {
  it.each([
    ['every Nth call', EVERY_NTH, 60],
    ['with probability p (seeded)', PROBABILITY, 70],
  ])('%s: retried with backoff, nothing lost, one result set per source, one webhook per job', async (_name, plan, firstPhoto) => {
    // Arrange
    logs = captureLogs('local');
    run = await startStackWithFaults(plan, {
      batchSize: 2,
      threads: 2,
      provider: 'cpu',
      pollMs: 100,
      visibilitySeconds: 3,
      retryBaseSeconds: 1,
      // Far more receives than the faults can use up: a job gives up only after this many.
      maxReceiveCount: 10,
      logger: logs.logger,
    });
    const { stack, faults } = run;
    const uploads = await Promise.all(
      Array.from({ length: PHOTOS }, async (_, i) => ({ key: `incoming/flaky/${i}.jpg`, bytes: await readPhoto(firstPhoto + i) })),
    );
    const keys = uploads.map((u) => u.key);

    // Act (uploads go straight to the bucket: the faults are on the pipeline's side)
    await uploadAll(new S3ObjectStore(stack.s3), stack.resources.bucket, uploads);
    await waitForWebhooks(stack.receiver, keys, 60_000);

    // Assert: faults happened on every port (how many depends on how the calls interleave)...
    expect(faults.store.faults).toBeGreaterThanOrEqual(2);
    expect(faults.jobs.faults).toBeGreaterThanOrEqual(1);
    expect(faults.events.faults).toBeGreaterThanOrEqual(1);
    // ...and were survived.
    await expectAllSucceededOnce(stack, keys);
    expect(stack.receiver.deliveries).toHaveLength(PHOTOS);
    // Jobs hit by a fault went back to the queue with a delay (1 s, 2 s, ... from the receive count).
    const retries = logs.entries.filter((e) => e.message === 'job will be retried');
    expect(retries.length).toBeGreaterThan(0);
    for (const r of retries) expect(r.delaySeconds).toBeGreaterThanOrEqual(1);
  }, 80_000);
});

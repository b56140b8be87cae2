/**
 * The S3+SQS endpoint goes away under a running worker and notify, and comes back empty (fauxqs
 * keeps everything in memory, as a restarted LocalStack would). What must hold: the clients back
 * off while it is gone (no tight error loop: receive attempts are counted), and once it is back and
 * the bucket and queues are provisioned again, the same worker and notify pick up new work.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import type { SegmentJob } from '#core/types';
import { startEmulator, type Emulator } from '#local/emulator';
import { provisionResources } from '#local/provision';
import { startLocalStack, type LocalStack } from '#local/stack';
import { FaultInjector, FaultyMessageQueue, FaultyObjectStore } from '#harness/faults';
import { readPhoto } from '#harness/images';
import { captureLogs, type CapturedLogs } from '#test/logs';
import { auditRun, uploadAll, waitForWebhooks, waitUntil } from '#harness/pipeline';

const VISIBILITY_SECONDS = 5;
const OUTAGE_MS = 4000;

let emulator: Emulator;
let stack: LocalStack;
let s3: S3Client;
let sqs: SQSClient;
let logs: CapturedLogs;
/** Count the calls on the jobs queue (the worker's receives) and on the bucket (the S3 event source's listings); no faults. */
const jobsCalls = new FaultInjector({ methods: [] });
const storeCalls = new FaultInjector({ methods: [] });
let notifyReceives = 0;

beforeAll(async () => {
  logs = captureLogs('local');
  emulator = await startEmulator();
  const connection = { region: 'us-east-1', endpoint: emulator.endpoint };
  s3 = createS3Client(connection);
  sqs = createSqsClient(connection);
  const resources = await provisionResources(s3, sqs, { visibilitySeconds: VISIBILITY_SECONDS });
  const jobs = new FaultyMessageQueue(new SqsMessageQueue<SegmentJob>(sqs, resources.jobsQueueUrl), jobsCalls, 'jobs');
  stack = await startLocalStack({
    endpoint: emulator.endpoint,
    batchSize: 2,
    threads: 2,
    provider: 'cpu',
    visibilitySeconds: VISIBILITY_SECONDS,
    pollMs: 100,
    overrides: { jobs, store: new FaultyObjectStore(new S3ObjectStore(s3), storeCalls) },
    logger: logs.logger,
  });
  // The stack's SQS client is the one notify's event source polls with: count its receives.
  stack.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ReceiveMessageCommand') notifyReceives++;
      return next(args);
    },
    { step: 'initialize', name: 'countReceives' },
  );
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  s3?.destroy();
  sqs?.destroy();
  await emulator?.stop();
  logs?.restore();
}, 60_000);

const photos = (names: string[], offset: number) =>
  Promise.all(names.map(async (name, i) => ({ key: `incoming/restart/${name}.jpg`, bytes: await readPhoto(offset + i) })));

describe('emulator restarting under the worker', () => {
  it('backs off while it is down, and works again once it is back and re-provisioned', async () => {
    // Arrange: the pipeline works.
    const before = await photos(['a', 'b'], 40);
    await uploadAll(stack.store, stack.resources.bucket, before);
    await waitForWebhooks(stack.receiver, before.map((u) => u.key), 60_000);

    // Act: the endpoint goes away for a while, then comes back empty on the same port.
    const port = emulator.port;
    const receivesBefore = jobsCalls.callsOf('receive');
    const notifyBefore = notifyReceives;
    const listsBefore = storeCalls.callsOf('list');
    await emulator.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const workerAttempts = jobsCalls.callsOf('receive') - receivesBefore;
    const notifyAttempts = notifyReceives - notifyBefore;
    const listAttempts = storeCalls.callsOf('list') - listsBefore;
    emulator = await startEmulator({ port });
    const again = await provisionResources(stack.s3, stack.sqs, { visibilitySeconds: VISIBILITY_SECONDS });
    const after = await photos(['c', 'd'], 42);
    await uploadAll(stack.store, stack.resources.bucket, after);
    await waitForWebhooks(stack.receiver, after.map((u) => u.key), 75_000);

    // Assert: backoff, not a tight loop, while the endpoint was gone (a loop would make hundreds).
    expect(workerAttempts).toBeGreaterThanOrEqual(2);
    expect(workerAttempts).toBeLessThanOrEqual(8);
    expect(notifyAttempts).toBeLessThanOrEqual(10);
    expect(listAttempts).toBeLessThanOrEqual(10); // polls every 100 ms when healthy: 40 in 4 s without backoff
    const backoffs = logs.entries.filter((e) => e.message === 'receive failed; backing off').map((e) => e.backoffMs as number);
    expect(backoffs.length).toBeGreaterThanOrEqual(2);
    expect(backoffs).toEqual(backoffs.map((_, i) => 500 * 2 ** i)); // doubling
    // The same resources came back, and the same worker processed the new uploads.
    expect(again).toEqual(stack.resources);
    const audit = await auditRun(stack, after.map((u) => u.key));
    expect(audit.lost).toEqual([]);
    expect([...audit.results.values()].map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    // (The worker counts a job after deleting its message, which is after the webhook went out.)
    await waitUntil(() => stack.worker!.worker.stats.succeeded === 4, 10_000, 'the same worker to count all 4 jobs');
  }, 90_000);
});

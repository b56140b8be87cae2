/**
 * Driving a local stack from a test or a bench: upload like a customer, wait for the webhooks,
 * then audit what the bucket and the receiver hold (lost jobs, duplicate result sets, outputs that
 * are missing or do not decode, webhooks missing or duplicated after de-duplication).
 */
import sharp from 'sharp';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { ObjectNotFoundError } from '#core/errors';
import { listAll } from '#core/listing';
import type { ObjectStore } from '#core/ports';
import { resultPrefix } from '#core/results';
import type { JobEvent, JobResult, SegmentJob } from '#core/types';
import { startEmulator } from '#local/emulator';
import { provisionResources } from '#local/provision';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '#local/stack';
import { FaultInjector, FaultyMessageQueue, FaultyObjectStore, type FaultPolicy } from '#harness/faults';
import type { ReceivedDelivery, WebhookReceiver } from '#local/webhook-receiver';

export interface Upload {
  key: string;
  bytes: Buffer;
}

export async function uploadAll(store: ObjectStore, bucket: string, uploads: readonly Upload[], concurrency = 8): Promise<void> {
  const queue = [...uploads];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        await store.put(bucket, u.key, u.bytes, { contentType: 'application/octet-stream' });
      }
    }),
  );
}

interface WebhookData {
  jobId: string;
  status: 'succeeded' | 'failed';
  source: { key: string };
  error?: { code: string; message: string };
}

export function webhookData(d: ReceivedDelivery): WebhookData {
  return (d.payload as { data: WebhookData }).data;
}

/** Deliveries (after the receiver's de-duplication) per source key. */
export function deliveriesByKey(receiver: WebhookReceiver): Map<string, ReceivedDelivery[]> {
  const byKey = new Map<string, ReceivedDelivery[]>();
  for (const d of receiver.deliveries) {
    const key = webhookData(d).source.key;
    byKey.set(key, [...(byKey.get(key) ?? []), d]);
  }
  return byKey;
}

/** Resolves once every key has a verified webhook; rejects after `timeoutMs` naming the missing ones. */
export async function waitForWebhooks(receiver: WebhookReceiver, keys: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const byKey = deliveriesByKey(receiver);
    const missing = keys.filter((k) => !byKey.has(k));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Expected a webhook for each of ${keys.length} uploads within ${timeoutMs} ms but ${missing.length} have none: ` +
          `${missing.slice(0, 10).join(', ')} (receiver: ${receiver.requests} requests, ${receiver.duplicates} duplicates, ${receiver.rejected} rejected)`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `predicate` every 50 ms; rejects with `what` after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Audit {
  results: Map<string, JobResult>;
  /** Uploads without a result.json. */
  lost: string[];
  /** Uploads with more than one result set (job folder) or more than one distinct webhook-id. */
  duplicates: string[];
  /** Result sets whose outputs are missing or do not match result.json. */
  invalid: { key: string; reason: string }[];
  /** Uploads whose webhook is missing or does not match result.json. */
  webhookProblems: { key: string; reason: string }[];
  /** Redeliveries the receiver recognised by webhook-id (harmless; counted). */
  webhookRedeliveries: number;
}

/** Everything that must hold after a run, for each uploaded key. Reads through a fault-free store. */
export async function auditRun(stack: LocalStack, keys: readonly string[]): Promise<Audit> {
  const store = new S3ObjectStore(stack.s3);
  const bucket = stack.resources.bucket;
  const byKey = deliveriesByKey(stack.receiver);
  const audit: Audit = {
    results: new Map(),
    lost: [],
    duplicates: [],
    invalid: [],
    webhookProblems: [],
    webhookRedeliveries: stack.receiver.duplicates,
  };

  const check = async (key: string) => {
    const prefix = resultPrefix(key);
    let result: JobResult;
    try {
      result = JSON.parse((await store.get(bucket, `${prefix}result.json`)).body.toString('utf8')) as JobResult;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) {
        audit.lost.push(key);
        return;
      }
      throw err;
    }
    audit.results.set(key, result);

    // Result sets: one job folder (results/<key>/<jobId>/), the one result.json names.
    const folders = new Set<string>();
    for (const o of await listAll(store, bucket, prefix)) {
      const m = /^([0-9a-f]{32})\/(mask|cutout)\.png$/.exec(o.key.slice(prefix.length));
      if (m) folders.add(m[1]!);
    }
    const deliveries = byKey.get(key) ?? [];
    if (folders.size > 1 || new Set(deliveries.map((d) => d.webhookId)).size > 1) audit.duplicates.push(key);

    if (result.status === 'succeeded') {
      if (!folders.has(result.jobId)) audit.invalid.push({ key, reason: `no outputs in the folder of job ${result.jobId}` });
      try {
        const [mask, cutout] = await Promise.all([
          store.get(bucket, result.outputs.mask!).then((o) => sharp(o.body).metadata()),
          store.get(bucket, result.outputs.cutout!).then((o) => sharp(o.body).metadata()),
        ]);
        const size = `${result.width}x${result.height}`;
        if (`${mask.width}x${mask.height}` !== size || mask.channels !== 1) {
          audit.invalid.push({ key, reason: `mask is ${mask.width}x${mask.height}x${mask.channels}, expected ${size}x1` });
        }
        if (`${cutout.width}x${cutout.height}` !== size || cutout.channels !== 4) {
          audit.invalid.push({ key, reason: `cut-out is ${cutout.width}x${cutout.height}x${cutout.channels}, expected ${size}x4` });
        }
      } catch (err) {
        audit.invalid.push({ key, reason: `outputs unreadable: ${(err as Error).message}` });
      }
    } else if (!result.error?.code || !result.error.message) {
      audit.invalid.push({ key, reason: 'failed without an error code and message' });
    }

    const d = deliveries[0];
    if (!d) {
      audit.webhookProblems.push({ key, reason: 'no webhook' });
    } else if (d.webhookId !== `evt_${result.jobId}` || webhookData(d).status !== result.status) {
      audit.webhookProblems.push({ key, reason: `webhook ${d.webhookId} (${webhookData(d).status}) does not match result.json` });
    }
  };

  const queue = [...keys];
  await Promise.all(Array.from({ length: 8 }, async () => { for (let k = queue.shift(); k !== undefined; k = queue.shift()) await check(k); }));
  return audit;
}

export interface FaultPlan {
  store?: FaultPolicy;
  jobs?: FaultPolicy;
  events?: FaultPolicy;
}

export interface FaultyStack {
  stack: LocalStack;
  faults: { store: FaultInjector; jobs: FaultInjector; events: FaultInjector };
  stop(): Promise<void>;
}

/**
 * A local stack whose worker (and ingest) talk to S3 and SQS through fault-injecting wrappers of
 * the real adapters. The emulator is started here so the queues exist before the wrappers do.
 */
export async function startStackWithFaults(plan: FaultPlan, options: LocalStackOptions = {}): Promise<FaultyStack> {
  const emulator = await startEmulator();
  const connection = { region: 'us-east-1', endpoint: emulator.endpoint };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  const provision = {
    ...(options.visibilitySeconds ? { visibilitySeconds: options.visibilitySeconds } : {}),
    ...(options.maxReceiveCount ? { maxReceiveCount: options.maxReceiveCount } : {}),
  };
  const resources = await provisionResources(s3, sqs, provision);
  const faults = {
    store: new FaultInjector(plan.store ?? { methods: [] }),
    jobs: new FaultInjector(plan.jobs ?? { methods: [] }),
    events: new FaultInjector(plan.events ?? { methods: [] }),
  };
  const stack = await startLocalStack({
    ...options,
    endpoint: emulator.endpoint,
    overrides: {
      store: new FaultyObjectStore(new S3ObjectStore(s3), faults.store),
      jobs: new FaultyMessageQueue(new SqsMessageQueue<SegmentJob>(sqs, resources.jobsQueueUrl), faults.jobs, 'jobs'),
      events: new FaultyMessageQueue(new SqsMessageQueue<JobEvent>(sqs, resources.eventsQueueUrl), faults.events, 'events'),
    },
  });
  return {
    stack,
    faults,
    async stop() {
      await stack.stop();
      s3.destroy();
      sqs.destroy();
      await emulator.stop();
    },
  };
}

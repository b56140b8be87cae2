/**
 * Bulk re-processing against the embedded emulator with the real S3/SQS SDK clients and adapters:
 * 2,500 objects over many ListObjectsV2 pages, interrupted and resumed (Ctrl-C, a simulated kill,
 * and the real CLI killed with SIGKILL), each object enqueued exactly once; stale filtering after a
 * model bump (results committed by the worker's own code); dry runs that enqueue nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PurgeQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { systemClock, type MessageQueue, type OutgoingMessage, type SendBatchResult } from '#core/ports';
import type { JobEvent, SegmentJob } from '#core/types';
import { jobIdFor } from '#core/results';
import { startEmulator, type Emulator } from '#local/emulator';
import { provisionResources, type ProvisionedResources } from '#local/provision';
import { FileCheckpointStore, type CheckpointState, type CheckpointStore, type RunIdentity } from '#reprocess/checkpoint';
import { mapConcurrent } from '#reprocess/concurrency';
import { reprocessPrefix, type ReprocessDeps, type ReprocessOptions } from '#reprocess/reprocess';
import type { ModelCard } from '#segmenter/card';
import { processJob } from '#segment/process-job';
import { InMemoryJobQueue } from '#test/queues';

const N = 2500;
const PAGE = 100;
const BULK = 'incoming/bulk/';
const bulkKey = (i: number) => `${BULK}photo-${String(i).padStart(5, '0')}.jpg`;

let emulator: Emulator;
let s3: S3Client;
let sqs: SQSClient;
let res: ProvisionedResources;
let store: S3ObjectStore;
let jobs: SqsMessageQueue<SegmentJob>;
let scratch: string;
/** A fresh folder for checkpoints, under one that is removed at the end. */
const tempDir = (name: string) => mkdtemp(join(scratch, `${name}-`));

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'gs-reprocess-test-'));
  emulator = await startEmulator();
  const conn = { region: 'us-east-1', endpoint: emulator.endpoint };
  s3 = createS3Client(conn);
  sqs = createSqsClient(conn);
  res = await provisionResources(s3, sqs);
  store = new S3ObjectStore(s3);
  jobs = new SqsMessageQueue<SegmentJob>(sqs, res.jobsQueueUrl);
  // Keys whose emulator order (localeCompare) and S3 order (bytes) agree; see docs/reprocess.md.
  await mapConcurrent(
    Array.from({ length: N }, (_, i) => i),
    32,
    (i) => store.put(res.bucket, bulkKey(i), `jpeg bytes ${i}`, { contentType: 'image/jpeg' }),
  );
  // Pipeline output under the prefix being re-processed must be left alone.
  await store.put(res.bucket, `results/${bulkKey(0)}/result.json`, '{}', { contentType: 'application/json' });
}, 120_000);

// Each test starts from an empty jobs queue, so that one that fails before draining it does not
// fail the next.
beforeEach(async () => {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: res.jobsQueueUrl }));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
  s3?.destroy();
  sqs?.destroy();
  await emulator?.stop();
});

/** Receive everything on the jobs queue; count jobs per source key. Then purge. */
async function drainJobs(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let empty = 0;
  while (empty < 2) {
    const batch = await jobs.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 900 });
    empty = batch.length ? 0 : empty + 1;
    for (const m of batch) counts.set(m.body.source.key, (counts.get(m.body.source.key) ?? 0) + 1);
  }
  await sqs.send(new PurgeQueueCommand({ QueueUrl: res.jobsQueueUrl }));
  return counts;
}

function expectEachOnce(counts: Map<string, number>, keys: string[]) {
  expect([...counts.keys()].sort()).toEqual([...keys].sort());
  const repeated = [...counts].filter(([, n]) => n !== 1);
  expect(repeated).toEqual([]);
}

const allBulkKeys = () => Array.from({ length: N }, (_, i) => bulkKey(i));

function identity(modelVersion: string, force = false): RunIdentity {
  return { endpoint: emulator.endpoint, bucket: res.bucket, prefix: BULK, modelVersion, force, queueUrl: res.jobsQueueUrl };
}

/** The real queue, with a hook before each SendMessageBatch and a count of what went on the wire. */
class HookedQueue implements Pick<MessageQueue<SegmentJob>, 'sendBatch'> {
  calls = 0;
  wire = 0;
  constructor(private readonly before: (call: number) => void) {}
  async sendBatch(messages: OutgoingMessage<SegmentJob>[]): Promise<SendBatchResult> {
    this.before(++this.calls);
    const r = await jobs.sendBatch(messages);
    this.wire += messages.length;
    return r;
  }
}

function run(deps: Partial<ReprocessDeps> & { checkpoints: CheckpointStore }, options: Partial<ReprocessOptions> & { modelVersion: string }) {
  return reprocessPrefix(
    { store, queue: jobs, clock: systemClock, ...deps },
    { bucket: res.bucket, prefix: BULK, maxBytes: 1_000_000, pageSize: PAGE, concurrency: 8, ...options },
  );
}

describe('greenscreen reprocess (local, against the emulator)', () => {
  it('2,500 objects over 25 pages, interrupted (Ctrl-C) midway and resumed: each enqueued exactly once', async () => {
    // Arrange
    const dir = await tempDir('reprocess');
    const checkpoints = new FileCheckpointStore(dir, identity('int-v1'));
    const ctl = new AbortController();
    const queue = new HookedQueue((call) => call === 80 && ctl.abort());
    // Act
    const first = await run({ checkpoints, queue: queue as unknown as MessageQueue<SegmentJob> }, { modelVersion: 'int-v1', signal: ctl.signal });
    const onDisk = JSON.parse(await readFile(checkpoints.location, 'utf8')) as CheckpointState;
    const second = await run({ checkpoints }, { modelVersion: 'int-v1' });
    // Assert
    expect(first.status).toBe('interrupted');
    expect(onDisk.lastKey).toBe(first.lastKey);
    expect(first.totals.enqueued).toBeGreaterThanOrEqual(500);
    expect(second).toMatchObject({ status: 'completed', runId: first.runId, resumedAfter: first.lastKey });
    expect(second.totals).toEqual({ listed: N, enqueued: N, skipped: 0 });
    expect(first.requests.list + second.requests.list).toBeGreaterThanOrEqual(N / PAGE);
    const counts = await drainJobs();
    expectEachOnce(counts, allBulkKeys());
    await expect(readFile(checkpoints.location)).rejects.toThrow(); // done: no checkpoint left
  });

  it('killed between sends and the checkpoint (--force): the re-run re-sends, SQS de-duplicates, each once', async () => {
    // Arrange: from send 60 on, checkpoints no longer reach the disk (the process is "dead"), yet
    // the batches already in flight, and a few more, reach SQS; then every send fails.
    const dir = await tempDir('reprocess');
    const disk = new FileCheckpointStore(dir, identity('kill-v1', true));
    let dead = false;
    const dying: CheckpointStore = {
      location: disk.location,
      load: () => disk.load(),
      save: (s) => (dead ? Promise.resolve() : disk.save(s)),
      clear: () => (dead ? Promise.resolve() : disk.clear()),
    };
    const queue = new HookedQueue((call) => {
      if (call === 60) dead = true;
      if (call > 75) throw new Error('killed');
    });
    // Act
    const first = await run(
      { checkpoints: dying, queue: queue as unknown as MessageQueue<SegmentJob> },
      { modelVersion: 'kill-v1', force: true, checkpointIntervalMs: 0 },
    );
    const resumeFrom = (await disk.load())!;
    const queue2 = new HookedQueue(() => undefined);
    const second = await run({ checkpoints: disk, queue: queue2 as unknown as MessageQueue<SegmentJob> }, { modelVersion: 'kill-v1', force: true });
    // Assert
    expect(first.status).toBe('failed');
    expect(resumeFrom.lastKey).toBeDefined();
    expect(second).toMatchObject({ status: 'completed', runId: resumeFrom.runId, resumedAfter: resumeFrom.lastKey });
    expect(queue.wire + queue2.wire).toBeGreaterThan(N); // some jobs went on the wire twice…
    const counts = await drainJobs();
    expectEachOnce(counts, allBulkKeys()); // …and SQS kept one of each
  });

  it('the CLI: Ctrl-C exits 130 with a checkpoint, kill -9 loses nothing, the same command finishes: each once', async () => {
    const dir = await tempDir('reprocess-cli');
    const args = [
      'bin/greenscreen.js', 'reprocess', '--prefix', BULK, '--endpoint', emulator.endpoint, '--model', 'cli-v1',
      '--page-size', String(PAGE), '--rate', '600', '--checkpoint-dir', dir,
    ];
    const cli = () =>
      spawn(process.execPath, args, {
        cwd: join(import.meta.dirname, '../..'),
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const exited = (p: ChildProcess) => new Promise<number | null>((r) => p.on('exit', (code, signal) => r(code ?? (signal ? -1 : null))));
    const checkpointPast = async (n: number) => {
      for (;;) {
        const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.json'));
        if (files[0]) {
          const cp = JSON.parse(await readFile(join(dir, files[0]), 'utf8').catch(() => '{}')) as CheckpointState;
          if ((cp.counts?.listed ?? 0) >= n) return cp;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // Ctrl-C
    const a = cli();
    await checkpointPast(300);
    a.kill('SIGINT');
    expect(await exited(a)).toBe(130);
    const afterInt = await checkpointPast(300);
    // kill -9
    const b = cli();
    await checkpointPast(afterInt.counts.listed + 300);
    b.kill('SIGKILL');
    await exited(b);
    // the same command again
    const c = cli();
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await exited(c)).toBe(0);
    expect(out).toContain(`completed: run ${afterInt.runId}`);
    expect(await readdir(dir)).toEqual([]);
    expectEachOnce(await drainJobs(), allBulkKeys());
  }, 120_000); // three CLI processes (tsx start-up each) at --rate 600: slow on a busy machine

  it('--dry-run lists and checks everything, enqueues nothing, writes no checkpoint', async () => {
    const dir = await tempDir('reprocess');
    const would: string[] = [];
    const s = await run(
      { checkpoints: new FileCheckpointStore(dir, identity('dry-v1')), onWouldEnqueue: (j) => would.push(j.key) },
      { modelVersion: 'dry-v1', dryRun: true },
    );
    expect(s).toMatchObject({ status: 'completed', listed: N, wouldEnqueue: N, enqueued: 0 });
    expect(would.sort()).toEqual(allBulkKeys());
    expect(await readdir(dir)).toEqual([]);
    expect((await drainJobs()).size).toBe(0);
  });

  it('skips pipeline output even when the prefix covers it', async () => {
    const dir = await tempDir('reprocess');
    const s = await run({ checkpoints: new FileCheckpointStore(dir, identity('res-v1')) }, { prefix: 'results/', modelVersion: 'res-v1' });
    expect(s).toMatchObject({ listed: 1, reserved: 1, enqueued: 0 });
  });
});

describe('stale filtering (results committed by the worker code)', () => {
  const STALE = 'incoming/stale/';
  const M = 150;
  const staleKey = (i: number) => `${STALE}img-${String(i).padStart(4, '0')}.png`;
  // The worker that committed these results had stale-v1 loaded: the version results record.
  const card = { name: 'tiramisu', version: 'stale-v1' } as ModelCard;

  beforeAll(async () => {
    await mapConcurrent(Array.from({ length: M }, (_, i) => i), 32, (i) =>
      store.put(res.bucket, staleKey(i), `png ${i}`, { contentType: 'image/png' }),
    );
    // The worker commits a result for each (a recorded failure: same commit as a success, no model needed)
    const deps = {
      store,
      events: new InMemoryJobQueue<JobEvent>(false),
      segmenter: { card, segment: () => Promise.reject(new Error('Expected no photo to reach the model in a recorded failure')) },
      clock: systemClock,
      bucket: res.bucket,
      maxBytes: 1_000_000,
      maxPixels: 1_000_000,
    };
    await mapConcurrent(Array.from({ length: M }, (_, i) => i), 16, async (i) => {
      const head = (await store.head(res.bucket, staleKey(i)))!;
      const source = { bucket: res.bucket, key: staleKey(i), etag: head.etag, size: head.size };
      const job: SegmentJob = {
        v: 1,
        jobId: jobIdFor(source, 'stale-v1'),
        source,
        modelVersion: 'stale-v1',
        enqueuedAt: new Date().toISOString(),
        rejection: { code: 'INVALID_IMAGE', message: 'test' },
        overrides: {}, // ingest read the photo's metadata: no options of its own
      };
      await processJob(deps, job, 1);
    });
  }, 60_000);

  const stale = async (modelVersion: string, staleCheck: 'index' | 'head', extra: Partial<ReprocessOptions> = {}) =>
    run(
      { checkpoints: new FileCheckpointStore(await tempDir('stale'), { ...identity(modelVersion), prefix: STALE }) },
      { prefix: STALE, modelVersion, staleCheck, pageSize: 40, ...extra },
    );

  it.each(['index', 'head'] as const)('same model version, unchanged photos: nothing is enqueued (%s check)', async (mode) => {
    const s = await stale('stale-v1', mode);
    expect(s).toMatchObject({ status: 'completed', listed: M, upToDate: M, enqueued: 0 });
    expect((await drainJobs()).size).toBe(0);
  });

  it('the index check lists markers instead of HEADing each result', async () => {
    const s = await stale('stale-v1', 'index');
    expect(s.requests.staleHead).toBe(0);
    expect(s.requests.staleList).toBeLessThanOrEqual(Math.ceil(M / 40) + 1);
  });

  it.each(['index', 'head'] as const)('after a model-version bump every object is stale (%s check)', async (mode) => {
    const s = await stale('stale-v2', mode, { dryRun: true });
    expect(s).toMatchObject({ wouldEnqueue: M, upToDate: 0 });
  });

  it('after a model-version bump: all enqueued, each once, carrying the new version', async () => {
    const s = await stale('stale-v2', 'index');
    expect(s.enqueued).toBe(M);
    // Each photo's own options came from the worker's options index: no HEAD per photo
    expect(s.requests).toMatchObject({ staleHead: 0, metadataHead: 0 });
    expect(s.requests.optionsList).toBeLessThanOrEqual(Math.ceil(M / 40) + 1);
    expectEachOnce(await drainJobs(), Array.from({ length: M }, (_, i) => staleKey(i)));
  });

  it('photos re-uploaded since their result are stale again, the rest are not', async () => {
    // The other tests here expect every photo unchanged since its result: put the originals back
    // afterwards (same bytes, same ETag), whatever the order the tests run in.
    try {
      for (const i of [3, 77, 149]) await store.put(res.bucket, staleKey(i), `new png ${i}`, { contentType: 'image/png' });
      const index = await stale('stale-v1', 'index', { dryRun: true });
      const head = await stale('stale-v1', 'head', { dryRun: true });
      expect(index).toMatchObject({ wouldEnqueue: 3, upToDate: M - 3 });
      expect(head).toMatchObject({ wouldEnqueue: 3, upToDate: M - 3 });
    } finally {
      for (const i of [3, 77, 149]) await store.put(res.bucket, staleKey(i), `png ${i}`, { contentType: 'image/png' });
    }
    expect(await stale('stale-v1', 'index', { dryRun: true })).toMatchObject({ wouldEnqueue: 0, upToDate: M });
  });
});

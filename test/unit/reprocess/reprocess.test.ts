import { describe, expect, it } from 'vitest';
import type { Clock, MessageQueue, OutgoingMessage, SendBatchResult } from '#core/ports';
import type { SegmentJob } from '#core/types';
import { jobIdFor } from '#core/results';
import { staleIndexKey } from '#core/results';
import type { Checkpoint, CheckpointState, CheckpointStore } from '#reprocess/checkpoint';
import { reprocessPrefix, type ReprocessDeps, type ReprocessOptions } from '#reprocess/reprocess';
import { RESULT_METADATA } from '#core/results';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import { jobResult } from '#test/events';
import { ListingObjectStore } from '#test/listing-store';
import { InMemoryJobQueue } from '#test/queues';

const BUCKET = 'b';
const clock: Clock = { now: () => new Date('2026-01-02T03:04:05.678Z') };

class MemoryCheckpoints implements CheckpointStore {
  readonly location = 'memory';
  current: Checkpoint | undefined;
  saves: CheckpointState[] = [];
  /** Simulates the process dying: later saves never reach the disk. */
  frozen = false;

  async load() {
    return this.current && structuredClone(this.current);
  }
  async save(state: CheckpointState) {
    if (this.frozen) return;
    this.saves.push(structuredClone(state));
    this.current = { v: 1, identity: {} as Checkpoint['identity'], ...structuredClone(state) };
  }
  async clear() {
    if (this.frozen) return;
    this.current = undefined;
  }
}

/** Records every SendMessageBatch as sent on the wire (before FIFO de-duplication). */
class WireQueue implements Pick<MessageQueue<SegmentJob>, 'sendBatch'> {
  readonly wire: OutgoingMessage<SegmentJob>[] = [];
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Called before each send; throw to fail it. */
  beforeSend: (call: number) => void | Promise<void> = () => undefined;

  constructor(readonly inner = new InMemoryJobQueue<SegmentJob>()) {}

  async sendBatch(messages: OutgoingMessage<SegmentJob>[]): Promise<SendBatchResult> {
    const call = ++this.calls;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      await this.beforeSend(call);
      this.wire.push(...messages);
      return await this.inner.sendBatch(messages);
    } finally {
      this.inFlight--;
    }
  }

  /** Keys that reached the queue (after de-duplication), with how many times each did. */
  delivered(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const b of this.inner.bodies()) counts.set(b.source.key, (counts.get(b.source.key) ?? 0) + 1);
    return counts;
  }
}

const key = (i: number) => `incoming/p-${String(i).padStart(4, '0')}.jpg`;

async function seed(n: number, store = new ListingObjectStore()) {
  for (let i = 0; i < n; i++) await store.put(BUCKET, key(i), `photo ${i}`, { contentType: 'image/jpeg' });
  return store;
}

/** A committed result as the worker writes it: result.json with metadata, then the marker. */
async function commitResult(store: ListingObjectStore, sourceKey: string, modelVersion: string) {
  const src = (await store.head(BUCKET, sourceKey))!;
  await store.put(BUCKET, `results/${sourceKey}/result.json`, '{}', {
    contentType: 'application/json',
    metadata: { [RESULT_METADATA.modelVersion]: modelVersion, [RESULT_METADATA.sourceEtag]: src.etag, [RESULT_METADATA.jobId]: 'j' },
  });
  await store.put(BUCKET, staleIndexKey(sourceKey, modelVersion)!, src.etag, { contentType: 'text/plain' });
}

function setup(store: ListingObjectStore, extra: Partial<ReprocessDeps> = {}) {
  const queue = new WireQueue();
  const checkpoints = new MemoryCheckpoints();
  const deps: ReprocessDeps = {
    store,
    queue: queue as unknown as MessageQueue<SegmentJob>,
    clock,
    checkpoints,
    newRunId: () => 'rp-test-1',
    ...extra,
  };
  const opts = (o: Partial<ReprocessOptions> = {}): ReprocessOptions => ({
    bucket: BUCKET,
    prefix: 'incoming/',
    modelVersion: 'm2',
    maxBytes: 1_000_000,
    pageSize: 7,
    concurrency: 3,
    checkpointIntervalMs: 0,
    ...o,
  });
  return { queue, checkpoints, deps, opts };
}

describe('reprocessPrefix', () => {
  it("re-runs a prefix with its current profile, each object's own metadata over it", async () => {
    const store = await seed(3);
    await store.put(BUCKET, key(1), 'photo 1', { contentType: 'image/jpeg', metadata: { 'greenscreen-format': 'png' } });
    const { queue, deps, opts } = setup(store);
    const s = await reprocessPrefix(deps, opts({ profiles: [{ prefix: 'incoming/', options: { format: 'webp', 'max-size': '800' } }] }));
    expect(s).toMatchObject({ enqueued: 3, failed: 0 });
    const byKey = new Map(queue.inner.bodies().map((b) => [b.source.key, b.output]));
    expect(byKey.get(key(0))).toEqual({ format: 'webp', background: { type: 'transparent' }, maxSize: 800, outputs: 'both' });
    expect(byKey.get(key(1))).toEqual({ format: 'png', background: { type: 'transparent' }, maxSize: 800, outputs: 'both' });
  });

  it('enqueues every object under the prefix through the ingest use case, marked with the run', async () => {
    // Arrange
    const store = await seed(23);
    const { queue, checkpoints, deps, opts } = setup(store);
    // Act
    const s = await reprocessPrefix(deps, opts());
    // Assert
    expect(s).toMatchObject({ status: 'completed', listed: 23, enqueued: 23, skipped: 0, failed: 0, runId: 'rp-test-1' });
    expect([...queue.delivered().keys()]).toEqual(Array.from({ length: 23 }, (_, i) => key(i)));
    const job = queue.inner.bodies()[0]!;
    const head = (await store.head(BUCKET, key(0)))!;
    expect(job).toMatchObject({
      v: 1,
      jobId: jobIdFor({ bucket: BUCKET, key: key(0), etag: head.etag }, 'm2'),
      modelVersion: 'm2',
      source: { bucket: BUCKET, key: key(0), etag: head.etag, size: head.size },
      reprocess: { runId: 'rp-test-1', force: false },
      enqueuedAt: '2026-01-02T03:04:05.678Z',
    });
    expect(queue.wire.every((m) => m.deduplicationId === m.body.jobId)).toBe(true);
    expect(queue.calls).toBe(4); // pages of 7, 7, 7 and 2: one batch each
    expect(checkpoints.current).toBeUndefined(); // a completed run leaves no checkpoint
  });

  it('sends batches of at most 10, with at most --concurrency in flight', async () => {
    const store = await seed(95);
    const { queue, deps, opts } = setup(store);
    await reprocessPrefix(deps, opts({ pageSize: 1000, concurrency: 4 }));
    expect(queue.calls).toBe(10);
    expect(queue.maxInFlight).toBe(4);
  });

  it.each(['results/', 'manifests/', 'reports/'])('never enqueues pipeline output under %s, even when the prefix covers it', async (reserved) => {
    const store = await seed(3);
    await store.put(BUCKET, `${reserved}x/y.jpg`, 'out', { contentType: 'image/png' });
    const { queue, deps, opts } = setup(store);
    const s = await reprocessPrefix(deps, opts({ prefix: '' }));
    expect([...queue.delivered().keys()]).toEqual([key(0), key(1), key(2)]);
    expect(s).toMatchObject({ listed: 4, enqueued: 3, skipped: 1, reserved: 1 });
  });

  it.each(['index', 'head'] as const)('skips objects whose result records this model and this source ETag (%s check)', async (staleCheck) => {
    // Arrange: 0-4 done by m2; 5-6 done by m1; 7 done by m2 but re-uploaded since; 8-9 never done
    const store = await seed(10);
    for (let i = 0; i < 5; i++) await commitResult(store, key(i), 'm2');
    for (const i of [5, 6]) await commitResult(store, key(i), 'm1');
    await commitResult(store, key(7), 'm2');
    await store.put(BUCKET, key(7), 'a new photo', { contentType: 'image/jpeg' });
    const { queue, deps, opts } = setup(store);
    // Act
    const s = await reprocessPrefix(deps, opts({ staleCheck, pageSize: 3 }));
    // Assert
    expect([...queue.delivered().keys()]).toEqual([key(5), key(6), key(7), key(8), key(9)]);
    expect(s).toMatchObject({ enqueued: 5, skipped: 5, upToDate: 5 });
  });

  it('index check: lists the markers once per page and HEADs only when a marker cannot prove its case', async () => {
    const store = await seed(30);
    for (let i = 0; i < 30; i++) await commitResult(store, key(i), 'm2');
    await store.put(BUCKET, key(4), 'changed', { contentType: 'image/jpeg' });
    const { queue, deps, opts } = setup(store);
    store.calls.head = 0;
    const s = await reprocessPrefix(deps, opts({ pageSize: 10 }));
    expect([...queue.delivered().keys()]).toEqual([key(4)]);
    // key 4: one HEAD of result.json (its marker records the old ETag), one of the photo for its
    // output options (x-amz-meta-greenscreen-*), as every enqueued object gets.
    expect(store.calls.head).toBe(2);
    expect(s.requests).toMatchObject({ list: 3, staleHead: 1 });
    expect(s.requests.staleList).toBeLessThanOrEqual(4);
  });

  it.each(['index', 'head'] as const)(
    "reads each object's own options from the worker's options index; HEADs only what it cannot prove (%s)",
    async (staleCheck) => {
      // Arrange: 12 photos processed by m1 as the worker commits them; 3 has options of its own, 5
      // was never processed (no record), 7 was re-uploaded since with options
      const store = await seed(12);
      await store.put(BUCKET, key(3), 'photo 3', { contentType: 'image/jpeg', metadata: { 'greenscreen-format': 'png' } });
      const results = new ObjectResultStore(store, BUCKET);
      for (let i = 0; i < 12; i++) {
        if (i === 5) continue;
        const source = { bucket: BUCKET, key: key(i), etag: (await store.head(BUCKET, key(i)))!.etag, size: 7 };
        await results.commit(jobResult({ source, model: { name: 'tiramisu', version: 'm1' } }), { overrides: i === 3 ? { format: 'png' } : {} });
      }
      await store.put(BUCKET, key(7), 'photo 7 again', { contentType: 'image/jpeg', metadata: { 'greenscreen-format': 'avif' } });
      const { queue, deps, opts } = setup(store);
      store.calls.head = 0;
      // Act: a new model (m2): every photo is stale
      const s = await reprocessPrefix(deps, opts({ staleCheck, pageSize: 5, profiles: [{ prefix: 'incoming/', options: { format: 'webp' } }] }));
      // Assert: the same jobs either way; the index saves the HEADs of photos without options
      expect(s).toMatchObject({ enqueued: 12, failed: 0 });
      const formats = new Map(queue.inner.bodies().map((b) => [b.source.key, b.output?.format]));
      expect([...formats]).toEqual(Array.from({ length: 12 }, (_, i) => [key(i), i === 3 ? 'png' : i === 7 ? 'avif' : 'webp']));
      if (staleCheck === 'index') {
        expect(s.requests).toMatchObject({ staleHead: 0, metadataHead: 3 }); // 3 (options), 5 (no record), 7 (another version)
        expect(s.requests.optionsList).toBeLessThanOrEqual(4); // pages of 5, 5 and 2 (+1 to learn the end)
        expect(store.calls.head).toBe(3);
      } else {
        expect(s.requests).toMatchObject({ staleHead: 12, optionsList: 0, metadataHead: 12 });
      }
    },
  );

  it('index check: where ETags are not MD5s (SSE-KMS), falls back to result.json metadata', async () => {
    const store = await seed(4);
    for (let i = 0; i < 4; i++) await commitResult(store, key(i), 'm2');
    for (const [id, e] of store.objects) if (id.includes('.index/')) e.etag = 'not-an-md5';
    const { queue, deps, opts } = setup(store);
    const s = await reprocessPrefix(deps, opts());
    expect(queue.calls).toBe(0);
    expect(s).toMatchObject({ upToDate: 4, requests: { staleHead: 4 } });
  });

  it('--force re-does up-to-date objects, with a de-duplication id of its own (job id + run id)', async () => {
    const store = await seed(3);
    for (let i = 0; i < 3; i++) await commitResult(store, key(i), 'm2');
    const { queue, deps, opts } = setup(store);
    const s = await reprocessPrefix(deps, opts({ force: true }));
    expect(s.enqueued).toBe(3);
    for (const m of queue.wire) {
      expect(m.deduplicationId).toBe(`${m.body.jobId}-rp-test-1`);
      expect(m.body.reprocess).toEqual({ runId: 'rp-test-1', force: true });
    }
  });

  it('--dry-run lists and checks, reports what it would enqueue, sends nothing and writes no checkpoint', async () => {
    const store = await seed(12);
    await commitResult(store, key(0), 'm2');
    const would: string[] = [];
    const { queue, checkpoints, deps, opts } = setup(store, { onWouldEnqueue: (j) => would.push(j.key) });
    const s = await reprocessPrefix(deps, opts({ dryRun: true }));
    expect(queue.calls).toBe(0);
    expect(checkpoints.saves).toEqual([]);
    expect(would).toEqual(Array.from({ length: 11 }, (_, i) => key(i + 1)));
    expect(s).toMatchObject({ status: 'completed', dryRun: true, wouldEnqueue: 11, enqueued: 0, upToDate: 1 });
  });

  it('takes a token from the rate limiter for every job before sending it', async () => {
    const store = await seed(25);
    const asked: number[] = [];
    const { deps, opts } = setup(store, { limiter: { acquire: async (n) => (asked.push(n), true) } });
    await reprocessPrefix(deps, opts({ pageSize: 1000 }));
    expect(asked).toEqual([10, 10, 5]);
  });

  it('Ctrl-C (abort): finishes in-flight batches, checkpoints, and the re-run continues: each object once', async () => {
    // Arrange
    const store = await seed(100);
    const { queue, checkpoints, deps, opts } = setup(store);
    const ctl = new AbortController();
    queue.beforeSend = (call) => {
      if (call === 4) ctl.abort();
    };
    // Act
    const first = await reprocessPrefix(deps, opts({ signal: ctl.signal }));
    const sentBefore = queue.wire.length;
    const checkpointed = checkpoints.current?.lastKey;
    const second = await reprocessPrefix(deps, opts());
    // Assert
    expect(first.status).toBe('interrupted');
    expect(first.lastKey).toBe(checkpointed);
    expect(sentBefore).toBe([...queue.wire.slice(0, sentBefore)].filter((m) => m.body.source.key <= checkpointed!).length);
    expect(second).toMatchObject({ status: 'completed', resumedAfter: first.lastKey, runId: first.runId });
    expect(second.totals).toEqual({ listed: 100, enqueued: 100, skipped: 0 });
    expect(queue.wire.length).toBe(100); // graceful: nothing sent twice, not even to be de-duplicated
    expect(sentBefore).toBeLessThan(100);
    expect([...queue.delivered().values()].every((n) => n === 1)).toBe(true);
    expect(queue.delivered().size).toBe(100);
  });

  it('a kill between sends and checkpoint: the re-run re-sends only after the watermark, with the same de-duplication ids', async () => {
    // Arrange: after the 5th send the process "dies": later sends still reached SQS, no more checkpoints
    const store = await seed(120);
    const { queue, checkpoints, deps, opts } = setup(store);
    queue.beforeSend = (call) => {
      if (call === 5) checkpoints.frozen = true;
      if (call > 8) throw new Error('killed');
    };
    const first = await reprocessPrefix(deps, opts({ force: true }));
    expect(first.status).toBe('failed');
    const watermark = checkpoints.current!.lastKey!;
    const firstWire = new Map(queue.wire.map((m) => [m.body.source.key, m.deduplicationId]));
    // Act: the re-run
    checkpoints.frozen = false;
    queue.beforeSend = () => undefined;
    const second = await reprocessPrefix(deps, opts({ force: true }));
    // Assert
    expect(second.status).toBe('completed');
    const resent = queue.wire.slice(firstWire.size).filter((m) => firstWire.has(m.body.source.key));
    expect(resent.length).toBeGreaterThan(0);
    for (const m of resent) {
      expect(m.body.source.key > watermark).toBe(true);
      expect(m.deduplicationId).toBe(firstWire.get(m.body.source.key));
    }
    expect(queue.delivered().size).toBe(120);
    expect([...queue.delivered().values()].every((n) => n === 1)).toBe(true);
  });

  it('stops at a job SQS refuses: the watermark stays before it and the re-run sends it', async () => {
    const store = await seed(30);
    const { queue, checkpoints, deps, opts } = setup(store);
    queue.inner.refuseNext.set('3', 'InternalError: try later');
    const first = await reprocessPrefix(deps, opts({ pageSize: 1000, concurrency: 1 }));
    expect(first).toMatchObject({ status: 'failed', failed: 1, failures: [{ key: key(3), reason: 'SQS refused the job: InternalError: try later' }] });
    expect(checkpoints.current?.lastKey).toBe(key(2));
    const second = await reprocessPrefix(deps, opts({ pageSize: 1000 }));
    expect(second.status).toBe('completed');
    expect(queue.delivered().size).toBe(30);
  });

  it('--restart discards the checkpoint and starts a new run', async () => {
    const store = await seed(5);
    const { checkpoints, deps, opts } = setup(store);
    checkpoints.current = {
      v: 1,
      identity: {} as Checkpoint['identity'],
      runId: 'rp-old',
      startedAt: 'x',
      updatedAt: 'x',
      lastKey: key(4),
      counts: { listed: 5, enqueued: 5, skipped: 0 },
    };
    const s = await reprocessPrefix(deps, { ...opts(), restart: true });
    expect(s).toMatchObject({ runId: 'rp-test-1', enqueued: 5 });
    expect(s.resumedAfter).toBeUndefined();
  });

  it('writes the run id to the checkpoint before the first message', async () => {
    const store = await seed(3);
    const { queue, checkpoints, deps, opts } = setup(store);
    let savedFirst = false;
    queue.beforeSend = () => {
      savedFirst ||= checkpoints.saves.length > 0 && checkpoints.saves[0]!.runId === 'rp-test-1';
    };
    await reprocessPrefix(deps, opts());
    expect(savedFirst).toBe(true);
    expect(checkpoints.saves[0]).not.toHaveProperty('lastKey');
  });
});

/**
 * Bulk re-processing of a prefix (local stack or any S3/SQS-compatible endpoint): list the
 * prefix, drop what is pipeline output or already up to date, and enqueue the rest through the
 * ingest use case (`enqueueObjects`; each object's own options from the options index, a HEAD
 * only where the index cannot tell), batches of 10 with several in flight, optionally rate
 * limited, resumable from a checkpoint. In AWS, S3 Batch Operations does this job (batch-job.ts).
 *
 * Exactly once, even across a kill: the checkpoint only ever records keys whose SendMessageBatch
 * succeeded (a contiguous watermark in listing order, see watermark.ts), and a message re-sent after
 * a resume carries the same FIFO de-duplication id as the first time, because that id is derived
 * from the job id (object version + model) and, with --force, the run id, which the checkpoint keeps.
 * SQS drops such a repeat within its 5-minute de-duplication window; after that, a repeat reaches
 * the worker as the same job id (its result is already committed: it re-publishes the event, whose
 * webhook-id is the same, so receivers de-duplicate too).
 */
import { randomBytes } from 'node:crypto';
import type { Clock, MessageQueue, ListedObject, ObjectStore, SendBatchResult } from '#core/ports';
import { isReservedKey } from '#core/resources';
import { OPTIONS_INDEX_PREFIX, recordsNoOverrides } from '#core/results';
import type { OutputProfile } from '#core/output-options';
import type { SegmentJob } from '#core/types';
import { SQS_MAX_BATCH } from '#core/adapters/sqs-message-queue';
import { enqueueObjects, headMetadata, type EnqueueOutcome, type MetadataSource } from '#ingest/enqueue';
import type { CheckpointStore, ReprocessCounts } from './checkpoint.ts';
import { readAhead, TaskPool } from './concurrency.ts';
import { IndexCursor } from './index-cursor.ts';
import { listPrefix } from './lister.ts';
import { unlimited, type RateLimiter } from './rate-limiter.ts';
import { createStaleChecker, type StaleCheckMode } from './stale-check.ts';
import { Watermark, type WatermarkEntry } from './watermark.ts';

export interface ReprocessDeps {
  store: ObjectStore;
  queue: MessageQueue<SegmentJob>;
  clock: Clock;
  checkpoints: CheckpointStore;
  limiter?: RateLimiter;
  newRunId?: () => string;
  onProgress?: (progress: ReprocessProgress) => void;
  /** Dry runs: called for each job that would be enqueued. */
  onWouldEnqueue?: (job: { key: string; jobId: string }) => void;
}

export interface ReprocessOptions {
  bucket: string;
  prefix: string;
  /** The jobs' model version (staleness is judged against it). */
  modelVersion: string;
  /** Upload size limit (larger objects are enqueued as rejected, like uploads). */
  maxBytes: number;
  /** Output profiles by prefix (#core/output-options), as ingest has them. */
  profiles?: OutputProfile[];
  /** Re-do up-to-date objects too. */
  force?: boolean;
  /** List and check, print, enqueue nothing, write no checkpoint. */
  dryRun?: boolean;
  /** Forget the checkpoint and start a new run. */
  restart?: boolean;
  /** SendMessageBatch calls in flight (default 8). */
  concurrency?: number;
  /** HEAD requests in flight for the stale check (default 4 x concurrency). */
  headConcurrency?: number;
  /** Keys per ListObjectsV2 call (default 1000, S3's maximum). */
  pageSize?: number;
  /** Pages listed ahead of the sender (default 8). */
  lookahead?: number;
  /** index (default): the worker's indexes, a HEAD only where they cannot tell; head: a HEAD per object. */
  staleCheck?: StaleCheckMode;
  /** Checkpoint at most this often (default 250 ms), and always at the end. */
  checkpointIntervalMs?: number;
  /** Abort = stop taking new work, finish in-flight batches, checkpoint, return 'interrupted'. */
  signal?: AbortSignal;
}

export interface ReprocessProgress {
  runId: string;
  /** This session's counts. */
  listed: number;
  enqueued: number;
  /** Dry runs: jobs that would have been enqueued. */
  wouldEnqueue: number;
  skipped: number;
  upToDate: number;
  /** Under results/, manifests/ or reports/. */
  reserved: number;
  failed: number;
  listingDone: boolean;
}

export interface ReprocessSummary extends ReprocessProgress {
  status: 'completed' | 'interrupted' | 'failed';
  dryRun: boolean;
  /** The key this session resumed after (from the checkpoint). */
  resumedAfter?: string;
  /** The watermark at the end (undefined when completed: the checkpoint is removed). */
  lastKey?: string;
  checkpoint: string;
  /** Over all sessions of the run, up to the watermark. */
  totals: ReprocessCounts;
  failures: { key: string; reason: string }[];
  /**
   * Requests by kind: source LISTs, stale-index LISTs and result.json HEADs (the stale check),
   * options-index LISTs and object HEADs (each enqueued object's own options), SendMessageBatch.
   */
  requests: { list: number; staleList: number; staleHead: number; optionsList: number; metadataHead: number; sendBatch: number };
  seconds: number;
}

const MAX_REPORTED_FAILURES = 100;

/** rp-20260101T120000Z-1a2b3c: sortable, and valid inside an SQS de-duplication id. */
export function newRunId(clock: Clock): string {
  const ts = clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `rp-${ts}-${randomBytes(3).toString('hex')}`;
}

/** A queue that accepts everything and sends nothing (dry runs go through the same use case). */
class DryRunQueue implements Pick<MessageQueue<SegmentJob>, 'sendBatch'> {
  async sendBatch(): Promise<SendBatchResult> {
    return { failed: [] };
  }
}

interface CheckedPage {
  objects: ListedObject[];
  /** Per object: why it is skipped before enqueueing, if it is. */
  skip: ('reserved' | 'upToDate' | undefined)[];
  /** Per object: the options index proves it has no options of its own (no HEAD needed). */
  noOverrides: boolean[];
  last: boolean;
}

interface Pending {
  object: ListedObject;
  entry: WatermarkEntry;
  noOverrides: boolean;
}

export async function reprocessPrefix(deps: ReprocessDeps, options: ReprocessOptions): Promise<ReprocessSummary> {
  const t0 = performance.now();
  const dryRun = options.dryRun ?? false;
  const force = options.force ?? false;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const pageSize = options.pageSize ?? 1000;
  const checkpointEvery = options.checkpointIntervalMs ?? 250;
  const limiter = dryRun ? unlimited : (deps.limiter ?? unlimited);
  const signal = options.signal;

  if (options.restart && !dryRun) await deps.checkpoints.clear();
  const checkpoint = options.restart ? undefined : await deps.checkpoints.load();
  const runId = checkpoint?.runId ?? (deps.newRunId ?? (() => newRunId(deps.clock)))();
  const startedAt = checkpoint?.startedAt ?? deps.clock.now().toISOString();
  const resumedAfter = checkpoint?.lastKey;
  const watermark = new Watermark({
    ...(resumedAfter !== undefined ? { lastKey: resumedAfter } : {}),
    ...(checkpoint ? { counts: checkpoint.counts } : {}),
  });

  const progress: ReprocessProgress = {
    runId,
    listed: 0,
    enqueued: 0,
    wouldEnqueue: 0,
    skipped: 0,
    upToDate: 0,
    reserved: 0,
    failed: 0,
    listingDone: false,
  };
  const failures: ReprocessSummary['failures'] = [];
  const requests = { list: 0, metadataHead: 0, sendBatch: 0 };
  const report = () => deps.onProgress?.({ ...progress });

  // --- checkpointing: serialised, throttled, only ever behind the watermark -------------------
  let saving: Promise<void> = Promise.resolve();
  let persisted = checkpoint !== undefined;
  let savedKey = resumedAfter;
  let lastSave = performance.now();
  const save = (): Promise<void> => {
    if (dryRun) return Promise.resolve();
    saving = saving.catch(() => undefined).then(async () => {
      const key = watermark.lastKey;
      if (persisted && key === savedKey) return;
      await deps.checkpoints.save({
        runId,
        startedAt,
        updatedAt: deps.clock.now().toISOString(),
        ...(key !== undefined ? { lastKey: key } : {}),
        counts: watermark.counts,
      });
      savedKey = key;
      persisted = true;
    });
    return saving;
  };
  // The run id goes to disk before the first message: with --force it is part of every
  // de-duplication id, and a resumed run must reuse it for SQS to recognise repeats.
  await save();
  const maybeSave = () => {
    if (performance.now() - lastSave < checkpointEvery) return;
    lastSave = performance.now();
    void save().catch(() => undefined); // the final save below reports a persistent failure
  };

  // --- the pipeline: list -> stale check -> batches of 10 -> SendMessageBatch (N in flight) ---
  const staleChecker = createStaleChecker(options.staleCheck ?? 'index', {
    store: deps.store,
    bucket: options.bucket,
    prefix: options.prefix,
    modelVersion: options.modelVersion,
    headConcurrency: options.headConcurrency ?? concurrency * 4,
    pageSize,
    ...(resumedAfter !== undefined ? { startAfter: resumedAfter } : {}),
  });
  // Each enqueued object's own options: the options index first, a HEAD only where it cannot tell
  // (`head` mode trusts no index: a HEAD per object for its options too).
  const useIndexes = (options.staleCheck ?? 'index') === 'index';
  const optionsIndex = new IndexCursor({
    store: deps.store,
    bucket: options.bucket,
    indexPrefix: OPTIONS_INDEX_PREFIX,
    prefix: options.prefix,
    pageSize,
    ...(resumedAfter !== undefined ? { startAfter: resumedAfter } : {}),
  });
  const heads = headMetadata(deps.store);
  const pages = listPrefix(deps.store, options.bucket, options.prefix, {
    pageSize,
    ...(resumedAfter !== undefined ? { startAfter: resumedAfter } : {}),
    ...(signal ? { signal } : {}),
  });
  async function* checked(): AsyncGenerator<CheckedPage> {
    for await (const page of readAhead(pages, options.lookahead ?? 8)) {
      requests.list++;
      const skip: CheckedPage['skip'] = page.objects.map((o) => (isReservedKey(o.key) ? 'reserved' : undefined));
      if (!force) {
        const candidates = page.objects.filter((_, i) => !skip[i]);
        const fresh = await staleChecker.upToDate(candidates);
        let c = 0;
        page.objects.forEach((_, i) => {
          if (!skip[i] && fresh[c++]) skip[i] = 'upToDate';
        });
      }
      const noOverrides = page.objects.map(() => false);
      const toSend = page.objects.flatMap((o, i) => (skip[i] ? [] : [{ o, i }]));
      if (toSend.length && useIndexes) {
        const records = await optionsIndex.read(toSend.map(({ o }) => o));
        toSend.forEach(({ o, i }, j) => (noOverrides[i] = recordsNoOverrides(records[j], o.etag)));
      }
      yield { objects: page.objects, skip, noOverrides, last: page.last };
    }
  }

  const queue = dryRun ? new DryRunQueue() : deps.queue;
  const enqueueDeps = {
    queue: queue as MessageQueue<SegmentJob>,
    clock: deps.clock,
    modelVersion: options.modelVersion,
    maxBytes: options.maxBytes,
    acceptPrefix: '',
    // Each object gets its prefix's current profile, overridden by its own metadata, as an upload
    // does (read per batch below; skipped objects are not read).
    profiles: options.profiles ?? [],
  };
  let stopping: 'interrupted' | 'failed' | undefined;

  const send = async (batch: Pending[]): Promise<void> => {
    let outcomes: EnqueueOutcome[];
    const plain = new Set(batch.filter((p) => p.noOverrides).map((p) => p.object.key));
    const metadata: MetadataSource = {
      metadataOf: (source) => {
        if (plain.has(source.key)) return Promise.resolve({});
        requests.metadataHead++;
        return heads.metadataOf(source);
      },
    };
    try {
      requests.sendBatch++;
      outcomes = await enqueueObjects(
        batch.map(({ object }) => ({ bucket: options.bucket, key: object.key, etag: object.etag, size: object.size })),
        { ...enqueueDeps, metadata },
        { reprocess: { runId, force } },
      );
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      outcomes = batch.map(({ object }) => ({ key: object.key, status: 'failed', jobId: '', reason }));
    }
    const byKey = new Map(outcomes.map((o) => [o.key, o]));
    for (const { object, entry } of batch) {
      const o = byKey.get(object.key);
      if (o?.status === 'enqueued') {
        if (dryRun) {
          progress.wouldEnqueue++;
          deps.onWouldEnqueue?.({ key: o.key, jobId: o.jobId });
        } else progress.enqueued++;
        watermark.settle(entry, 'enqueued');
      } else if (o?.status === 'skipped') {
        progress.skipped++;
        watermark.settle(entry, 'skipped');
      } else {
        // Not settled: the watermark stops before it, so a re-run sends it again.
        progress.failed++;
        if (failures.length < MAX_REPORTED_FAILURES) failures.push({ key: object.key, reason: o?.reason ?? 'no outcome' });
        stopping = 'failed';
      }
    }
    report();
    maybeSave();
  };

  const pool = new TaskPool(concurrency);
  let error: unknown;
  try {
    pageLoop: for await (const page of readAhead(checked(), 2)) {
      if (signal?.aborted) stopping ??= 'interrupted';
      if (stopping) break;
      progress.listed += page.objects.length;
      const stale: Pending[] = [];
      page.objects.forEach((object, i) => {
        const entry = watermark.add(object.key);
        const why = page.skip[i];
        if (why === undefined) return void stale.push({ object, entry, noOverrides: page.noOverrides[i]! });
        progress.skipped++;
        progress[why]++;
        watermark.settle(entry, 'skipped');
      });
      if (page.last) progress.listingDone = true;
      report();
      for (let i = 0; i < stale.length; i += SQS_MAX_BATCH) {
        const batch = stale.slice(i, i + SQS_MAX_BATCH);
        if (!(await limiter.acquire(batch.length, signal))) stopping ??= 'interrupted';
        if (signal?.aborted) stopping ??= 'interrupted';
        if (stopping) break pageLoop;
        await pool.run(() => send(batch));
      }
      maybeSave();
    }
  } catch (err) {
    error = err;
  }
  // Whatever happened, let in-flight batches finish so the checkpoint can include them.
  await pool.drain().catch((err: unknown) => (error ??= err));
  const completed = !error && !stopping && progress.listingDone;
  await saving.catch(() => undefined);
  if (!dryRun) {
    if (completed) await deps.checkpoints.clear();
    else await save();
  }
  if (error) throw error;

  return {
    ...progress,
    status: completed ? 'completed' : (stopping ?? 'interrupted'),
    dryRun,
    ...(resumedAfter !== undefined ? { resumedAfter } : {}),
    ...(!completed && watermark.lastKey !== undefined ? { lastKey: watermark.lastKey } : {}),
    checkpoint: deps.checkpoints.location,
    totals: watermark.counts,
    failures,
    requests: {
      list: requests.list,
      staleList: staleChecker.requests.list,
      staleHead: staleChecker.requests.head,
      optionsList: optionsIndex.lists,
      metadataHead: requests.metadataHead,
      sendBatch: requests.sendBatch,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}

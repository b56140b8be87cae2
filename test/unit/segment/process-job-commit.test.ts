/**
 * Re-processing overwrites results in place, so the commit protocol matters: outputs go to a
 * per-job folder, result.json (the commit marker) is written last, and the stale-index marker
 * after it. These tests watch the store at every write and assert that a reader never sees a
 * result.json that points at outputs which do not exist, including when the re-run dies midway.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { StorageError } from '#core/errors';
import type { Clock, PutOptions } from '#core/ports';
import type { JobEvent, JobResult, SegmentJob } from '#core/types';
import { jobIdFor, optionsRecordKey } from '#core/results';
import { RESULT_METADATA, staleIndexEtag, staleIndexKey } from '#core/results';
import { segmenterOnSession } from '#segment/inference';
import type { ModelSession } from '#segment/model-session';
import { processJob, type ProcessDeps } from '#segment/process-job';
import { InMemoryObjectStore } from '#test/fakes';
import { InMemoryJobQueue } from '#test/queues';
import { testCard } from '#test/model-card';

const BUCKET = 'greenscreen-uploads';
const SOURCE_KEY = 'incoming/portrait.jpg';
const RESULT_KEY = `results/${SOURCE_KEY}/result.json`;
const clock: Clock = { now: () => new Date('2026-02-03T04:05:06Z') };

const card = testCard({ version: 'm1', input: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });

/** A model that calls everything foreground (the commit protocol is what is under test). */
const session: ModelSession = {
  provider: 'cpu',
  threadIds: [],
  run: async (_input, dims) => new Float32Array(dims[0] * dims[2] * dims[3]).fill(0.9),
  release: async () => undefined,
};

/**
 * Checks, before and after every write, what a reader of result.json would find; can be told to
 * fail a write (a crash or an S3 error in the middle of a commit).
 */
class WatchedStore extends InMemoryObjectStore {
  readonly violations: string[] = [];
  readonly writes: string[] = [];
  failPut: ((key: string) => boolean) | undefined;

  private check(when: string): void {
    const stored = this.objects.get(`${BUCKET}/${RESULT_KEY}`);
    if (!stored) return;
    const result = JSON.parse(stored.body.toString('utf8')) as JobResult;
    if (result.status !== 'succeeded') return;
    for (const k of [result.outputs.mask, result.outputs.cutout]) {
      if (!this.objects.has(`${BUCKET}/${k}`)) this.violations.push(`${when}: result.json of ${result.jobId} points at missing ${k}`);
    }
  }

  override async put(bucket: string, key: string, body: Buffer | string, options: PutOptions) {
    this.check(`before writing ${key}`);
    if (this.failPut?.(key)) throw new StorageError(`S3 PutObject s3://${bucket}/${key} failed: InternalError`);
    const res = await super.put(bucket, key, body, options);
    this.writes.push(key);
    this.check(`after writing ${key}`);
    return res;
  }
}

async function setup() {
  const store = new WatchedStore();
  const jpeg = await sharp({ create: { width: 48, height: 64, channels: 3, background: { r: 200, g: 120, b: 90 } } }).jpeg().toBuffer();
  const { etag } = await store.put(BUCKET, SOURCE_KEY, jpeg, { contentType: 'image/jpeg' });
  const events = new InMemoryJobQueue<JobEvent>(false);
  const deps: ProcessDeps = {
    store,
    events,
    segmenter: segmenterOnSession(session, card, { maxBatch: 4 }),
    clock,
    bucket: BUCKET,
    maxBytes: 1_000_000,
    maxPixels: 1_000_000,
  };
  const source = { bucket: BUCKET, key: SOURCE_KEY, etag, size: jpeg.length };
  const job = (modelVersion: string, reprocess?: SegmentJob['reprocess']): SegmentJob => ({
    v: 1,
    jobId: jobIdFor(source, modelVersion),
    source,
    modelVersion,
    enqueuedAt: clock.now().toISOString(),
    ...(reprocess ? { reprocess } : {}),
  });
  const readResult = async () => JSON.parse((await store.get(BUCKET, RESULT_KEY)).body.toString('utf8')) as JobResult;
  return { store, events, deps, job, readResult };
}

describe('processJob commit (re-processing overwrites results atomically)', () => {
  it('writes outputs to a per-job folder, then result.json, then the stale-index marker', async () => {
    const { store, deps, job } = await setup();
    store.writes.length = 0;
    const j = job('m1');
    await processJob(deps, j, 1);
    expect(store.writes.slice(0, 2).sort()).toEqual([`results/${SOURCE_KEY}/${j.jobId}/cutout.png`, `results/${SOURCE_KEY}/${j.jobId}/mask.png`]);
    expect(store.writes.slice(2)).toEqual([RESULT_KEY, staleIndexKey(SOURCE_KEY, 'm1')]);
    const marker = (await store.head(BUCKET, staleIndexKey(SOURCE_KEY, 'm1')!))!;
    expect(marker.etag).toBe(staleIndexEtag(j.source.etag));
    const meta = (await store.head(BUCKET, RESULT_KEY))!.metadata;
    expect(meta).toMatchObject({ [RESULT_METADATA.modelVersion]: 'm1', [RESULT_METADATA.sourceEtag]: j.source.etag, [RESULT_METADATA.jobId]: j.jobId });
    expect(store.violations).toEqual([]);
  });

  it("records the options ingest read with the job (its overrides) last, in the options index", async () => {
    const { store, deps, job } = await setup();
    store.writes.length = 0;
    const j = { ...job('m1'), overrides: { format: 'png' } };
    await processJob(deps, j, 1);
    expect(store.writes.slice(2)).toEqual([RESULT_KEY, staleIndexKey(SOURCE_KEY, 'm1'), optionsRecordKey(SOURCE_KEY)]);
    expect((await store.get(BUCKET, optionsRecordKey(SOURCE_KEY)!)).body.toString('utf8')).toBe(`${j.source.etag}\n{"format":"png"}`);
    expect(store.violations).toEqual([]);
  });

  it('a re-run that dies while uploading leaves the previous result whole; the retry switches over in one write', async () => {
    // Arrange: a result by model m1, then a re-processing run with m2 whose cutout upload fails
    const { store, events, deps, job, readResult } = await setup();
    const first = job('m1');
    await processJob(deps, first, 1);
    const rerun = job('m2', { runId: 'rp-20260203T040506Z-abcdef', force: false });
    store.failPut = (key) => key.endsWith(`${rerun.jobId}/cutout.png`);
    // Act 1: the failed attempt
    await expect(processJob(deps, rerun, 1)).rejects.toThrow('InternalError');
    // Assert 1: readers still get m1's complete result
    expect((await readResult()).jobId).toBe(first.jobId);
    expect(store.violations).toEqual([]);
    // Act 2: the retry
    store.failPut = undefined;
    await processJob(deps, rerun, 2);
    // Assert 2
    const result = await readResult();
    expect(result).toMatchObject({ jobId: rerun.jobId, status: 'succeeded', reprocess: { runId: 'rp-20260203T040506Z-abcdef' } });
    expect(result.outputs.mask).toBe(`results/${SOURCE_KEY}/${rerun.jobId}/mask.png`);
    expect(store.violations).toEqual([]);
    const event = events.bodies().at(-1)!;
    expect(event.eventId).toBe(`evt_${rerun.jobId}_rp-20260203T040506Z-abcdef`);
    expect(event.result.reprocess).toEqual({ runId: 'rp-20260203T040506Z-abcdef' });
  });

  it('a re-run that dies just before result.json is committed changes nothing a reader sees', async () => {
    const { store, deps, job, readResult } = await setup();
    const first = job('m1');
    await processJob(deps, first, 1);
    const rerun = job('m2', { runId: 'rp-1', force: false });
    store.failPut = (key) => key === RESULT_KEY;
    await expect(processJob(deps, rerun, 1)).rejects.toThrow();
    expect((await readResult()).jobId).toBe(first.jobId);
    expect(store.objects.has(`${BUCKET}/${staleIndexKey(SOURCE_KEY, 'm2')}`)).toBe(false); // still stale: it will be re-done
    expect(store.violations).toEqual([]);
  });

  it('a failure to write the stale-index marker does not fail a committed job (it only costs a re-run later)', async () => {
    const { store, deps, job, readResult } = await setup();
    store.failPut = (key) => key.startsWith('results/.index/');
    const outcome = await processJob(deps, job('m1'), 1);
    expect(outcome.kind).toBe('succeeded');
    expect((await readResult()).status).toBe('succeeded');
  });
});

describe('processJob records what happened, once', () => {
  it('records the loaded model in result.json, its metadata and the stale index, whatever version the job asked for', async () => {
    // Arrange: the worker has m1 loaded; a `reprocess --model m9` job asks for m9.
    const { store, deps, job, readResult } = await setup();
    // Act
    await processJob(deps, job('m9', { runId: 'rp-m9', force: true }), 1);
    // Assert: one version, the one that ran, everywhere it is recorded.
    expect((await readResult()).model).toEqual({ name: 'tiramisu', version: 'm1' });
    expect((await store.head(BUCKET, RESULT_KEY))!.metadata[RESULT_METADATA.modelVersion]).toBe('m1');
    expect(store.objects.has(`${BUCKET}/${staleIndexKey(SOURCE_KEY, 'm1')}`)).toBe(true);
    expect(store.objects.has(`${BUCKET}/${staleIndexKey(SOURCE_KEY, 'm9')}`)).toBe(false);
  });

  it('a failed result lists only its result.json, not the outputs that were never written', async () => {
    // Arrange: an upload that is text named .jpg
    const { store, events, deps, job, readResult } = await setup();
    const text = Buffer.from('not a photo at all');
    const { etag } = await store.put(BUCKET, SOURCE_KEY, text, { contentType: 'image/jpeg' });
    const j = { ...job('m1'), source: { bucket: BUCKET, key: SOURCE_KEY, etag, size: text.length } };
    // Act
    const outcome = await processJob(deps, j, 1);
    // Assert
    expect(outcome.kind).toBe('failed');
    expect((await readResult()).outputs).toEqual({ result: RESULT_KEY });
    expect(events.bodies().at(-1)!.result.outputs).toEqual({ result: RESULT_KEY });
    expect([...store.objects.keys()].filter((k) => k.includes(j.jobId))).toEqual([]);
  });
});

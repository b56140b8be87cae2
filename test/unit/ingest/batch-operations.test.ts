import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import type { Clock, MessageQueue, ObjectHead, ObjectStore } from '#core/ports';
import type { SegmentJob } from '#core/types';
import { handleBatchOperations, type BatchOperationsResponse } from '#ingest/batch-operations';
import { headMetadata } from '#ingest/enqueue';
import { createIngestHandler } from '#ingest/handler';
import { jobIdFor } from '#core/results';
import { RESULT_METADATA } from '#core/results';
import { batchEvent } from '#test/batch-operations-events';
import { InMemoryObjectStore } from '#test/fakes';
import { captureLogs } from '#test/logs';
import { InMemoryJobQueue } from '#test/queues';

const BUCKET = 'greenscreen-uploads';
const BATCH_JOB = 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce';
const clock: Clock = { now: () => new Date('2026-03-04T05:06:07.000Z') };

/** InMemoryObjectStore plus object versions (HEAD with a VersionId), recording every HEAD. */
class VersionedStore extends InMemoryObjectStore {
  readonly versions = new Map<string, Map<string, { etag: string; size: number }>>();
  readonly heads: { key: string; versionId?: string }[] = [];

  /** HEADs of sources (not of result.json, which the stale check reads). */
  sourceHeads() {
    return this.heads.filter((h) => !h.key.startsWith('results/'));
  }

  override async head(bucket: string, key: string, options: { versionId?: string } = {}): Promise<ObjectHead | undefined> {
    this.heads.push({ key, ...(options.versionId ? { versionId: options.versionId } : {}) });
    if (options.versionId) {
      const v = this.versions.get(`${bucket}/${key}`)?.get(options.versionId);
      return v && { ...v, versionId: options.versionId, metadata: {} };
    }
    return super.head(bucket, key);
  }
}

function setup(options: { store?: ObjectStore; queue?: MessageQueue<SegmentJob> } = {}) {
  const store = options.store ?? new VersionedStore();
  const queue = new InMemoryJobQueue<SegmentJob>();
  const deps = {
    store,
    queue: options.queue ?? queue,
    clock,
    modelVersion: 'm1',
    maxBytes: 1_000_000,
    acceptPrefix: 'incoming/',
  };
  return { store, queue, deps };
}

const photo = (store: ObjectStore, key: string, body = `bytes of ${key}`) =>
  store.put(BUCKET, key, body, { contentType: 'image/jpeg' });

/** result.json as the worker commits it (#segment/process-job). */
async function committedResult(store: ObjectStore, key: string, modelVersion: string) {
  const head = (await store.head(BUCKET, key))!;
  await store.put(BUCKET, `results/${key}/result.json`, '{}', {
    contentType: 'application/json',
    metadata: {
      [RESULT_METADATA.jobId]: 'j0',
      [RESULT_METADATA.modelVersion]: modelVersion,
      [RESULT_METADATA.sourceEtag]: head.etag,
      [RESULT_METADATA.status]: 'succeeded',
    },
  });
}

const only = (res: BatchOperationsResponse) => {
  expect(res.results).toHaveLength(1);
  return res.results[0]!;
};

/** An S3 client whose every call fails like S3 does (real adapter, no network). */
function failingS3(name: string, status: number, fault: 'client' | 'server'): S3Client {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  s3.send = (async () => {
    throw new S3ServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message: `${name} (${status})` });
  }) as S3Client['send'];
  return s3;
}

describe('handleBatchOperations (S3 Batch Operations, invocation schema 2.0)', () => {
  it('answers in the 2.0 response shape, one result per task, echoing the invocation', async () => {
    const { store, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    const res = await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg', taskId: 't-1' }]), deps);
    expect(res).toEqual({
      invocationSchemaVersion: '2.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      results: [{ taskId: 't-1', resultCode: 'Succeeded', resultString: expect.stringMatching(/^enqueued job [0-9a-f]{32}$/) }],
    });
  });

  it.each([
    ['spaces as +', 'incoming/my+photo.jpg', 'incoming/my photo.jpg'],
    ['spaces as %20', 'incoming/my%20photo.jpg', 'incoming/my photo.jpg'],
    ['a literal +', 'incoming/a%2Bb.jpg', 'incoming/a+b.jpg'],
    ['a literal %', 'incoming/100%25+sure.jpg', 'incoming/100% sure.jpg'],
    ['unicode', 'incoming/caf%C3%A9+%F0%9F%93%B7.jpg', 'incoming/café 📷.jpg'],
    ['commas and quotes', 'incoming/a%2C%22b%22.jpg', 'incoming/a,"b".jpg'],
    ['sub-folders, encoded or not', 'incoming%2Fx/y%2Fz.PNG', 'incoming/x/y/z.PNG'],
  ])('URL-decodes the key (%s) before HEAD and in the job', async (_n, encoded, decoded) => {
    // Arrange
    const { store, queue, deps } = setup();
    await photo(store, decoded);
    // Act
    const res = await handleBatchOperations(batchEvent([{ encodedKey: encoded }]), deps);
    // Assert
    expect(only(res).resultCode).toBe('Succeeded');
    expect((store as VersionedStore).heads[0]).toEqual({ key: decoded });
    expect(queue.bodies().map((b) => b.source.key)).toEqual([decoded]);
  });

  it('refuses a key that is not valid URL encoding, for good', async () => {
    const { deps } = setup();
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/100%.jpg' }]), deps));
    expect(r).toEqual({
      taskId: 'dGFzay00',
      resultCode: 'PermanentFailure',
      resultString: 'INVALID_EVENT: Expected a URL-encoded S3 key but received "incoming/100%.jpg"',
    });
  });

  it('processes the version the task names: HEAD of that version, its ETag, its own job id', async () => {
    // Arrange: the key's latest version differs from the ones the manifest names
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/v.jpg', 'latest');
    (store as VersionedStore).versions.set(
      `${BUCKET}/incoming/v.jpg`,
      new Map([
        ['3HL4kqtJvjVBH40Nrjfkd', { etag: 'etag-of-v1', size: 11 }],
        ['UIORUnfndfhnw89493jJF', { etag: 'etag-of-v2', size: 12 }],
      ]),
    );
    // Act
    const res = await handleBatchOperations(
      batchEvent([
        { encodedKey: 'incoming/v.jpg', versionId: '3HL4kqtJvjVBH40Nrjfkd' },
        { encodedKey: 'incoming/v.jpg', versionId: 'UIORUnfndfhnw89493jJF' },
      ]),
      deps,
    );
    // Assert
    expect(res.results.map((r) => r.resultCode)).toEqual(['Succeeded', 'Succeeded']);
    expect((store as VersionedStore).sourceHeads()).toEqual([
      { key: 'incoming/v.jpg', versionId: '3HL4kqtJvjVBH40Nrjfkd' },
      { key: 'incoming/v.jpg', versionId: 'UIORUnfndfhnw89493jJF' },
    ]);
    const [a, b] = queue.bodies();
    expect(a!.source).toEqual({ bucket: BUCKET, key: 'incoming/v.jpg', etag: 'etag-of-v1', size: 11, versionId: '3HL4kqtJvjVBH40Nrjfkd' });
    expect(b!.source).toMatchObject({ etag: 'etag-of-v2', versionId: 'UIORUnfndfhnw89493jJF' });
    expect(a!.jobId).toBe(jobIdFor(a!.source, 'm1'));
    expect(a!.jobId).not.toBe(b!.jobId);
  });

  it("takes the object's own options from the task's one HEAD (no second HEAD for its metadata)", async () => {
    const { store, queue, deps } = setup();
    await store.put(BUCKET, 'incoming/o.jpg', 'bytes', { contentType: 'image/jpeg', metadata: { 'greenscreen-format': 'webp' } });
    const res = await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/o.jpg' }]), { ...deps, metadata: headMetadata(store) });
    expect(only(res).resultCode).toBe('Succeeded');
    expect((store as VersionedStore).sourceHeads()).toEqual([{ key: 'incoming/o.jpg' }]);
    expect(queue.bodies()[0]).toMatchObject({ output: { format: 'webp' }, overrides: { format: 'webp' } });
  });

  it('treats a null version id (unversioned bucket) as "the object"', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg', versionId: null }]), deps);
    expect(queue.bodies()[0]!.source).not.toHaveProperty('versionId');
    expect((store as VersionedStore).sourceHeads()).toEqual([{ key: 'incoming/a.jpg' }]);
  });

  it.each([
    ['the object', { encodedKey: 'incoming/gone.jpg' }, 'Expected s3://greenscreen-uploads/incoming/gone.jpg to exist but it was not found'],
    [
      'that version',
      { encodedKey: 'incoming/gone.jpg', versionId: 'v9' },
      'Expected s3://greenscreen-uploads/incoming/gone.jpg (version v9) to exist but it was not found',
    ],
  ])('HEAD 404 (%s) is a PermanentFailure and enqueues nothing', async (_n, task, message) => {
    const { queue, deps } = setup();
    const r = only(await handleBatchOperations(batchEvent([task]), deps));
    expect(r).toMatchObject({ resultCode: 'PermanentFailure', resultString: message });
    expect(queue.sent).toHaveLength(0);
  });

  it('HEAD 404 through the real S3 adapter is a PermanentFailure too', async () => {
    const { deps } = setup({ store: new S3ObjectStore(failingS3('NotFound', 404, 'client')) });
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/x.jpg' }]), deps));
    expect(r.resultCode).toBe('PermanentFailure');
  });

  it.each([
    ['SlowDown', 503, 'server'],
    ['InternalError', 500, 'server'],
    ['TooManyRequests', 429, 'client'],
  ] as const)('S3 throttling or trouble (%s %i) is a TemporaryFailure, so Batch Operations retries', async (name, status, fault) => {
    const { queue, deps } = setup({ store: new S3ObjectStore(failingS3(name, status, fault)) });
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/x.jpg' }]), deps));
    expect(r.resultCode).toBe('TemporaryFailure');
    expect(r.resultString).toBe(`STORAGE_ERROR: S3 HeadObject s3://${BUCKET}/incoming/x.jpg failed: ${name}: ${name} (${status})`);
    expect(queue.sent).toHaveLength(0);
  });

  it('S3 AccessDenied is a PermanentFailure (retrying cannot help)', async () => {
    const { deps } = setup({ store: new S3ObjectStore(failingS3('AccessDenied', 403, 'client')) });
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/x.jpg' }]), deps));
    expect(r.resultCode).toBe('PermanentFailure');
  });

  it('SQS throttling (after the queue adapter\'s own retries) is a TemporaryFailure', async () => {
    // Arrange: the real SqsMessageQueue over an SQS client that is always throttled
    const sqs = {
      send: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    } as unknown as SQSClient;
    const queue = new SqsMessageQueue<SegmentJob>(sqs, 'https://sqs.us-east-1.amazonaws.com/1/greenscreen-jobs.fifo', {
      sleep: async () => undefined,
    });
    const { store, deps } = setup({ queue });
    await photo(store, 'incoming/a.jpg');
    // Act
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }]), deps));
    // Assert
    expect(r).toMatchObject({ resultCode: 'TemporaryFailure', resultString: 'SQS refused the job: Rate exceeded' });
  });

  it('SQS refusing an entry (batch entry failure) is a TemporaryFailure', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    queue.refuseNext.set('0', 'InternalError: try again');
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }]), deps));
    expect(r).toMatchObject({ resultCode: 'TemporaryFailure', resultString: 'SQS refused the job: InternalError: try again' });
  });

  it('an object already processed by this model from this very version is Succeeded with nothing enqueued', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await committedResult(store, 'incoming/a.jpg', 'm1');
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }]), deps));
    expect(r).toMatchObject({ resultCode: 'Succeeded', resultString: 'up to date with model m1' });
    expect(queue.sent).toHaveLength(0);
  });

  it.each([
    ['an older model', 'm0', 'unchanged'],
    ['this model, but the photo changed since', 'm1', 'changed'],
  ])('a result made by %s is stale: the object is enqueued', async (_n, model, photoState) => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await committedResult(store, 'incoming/a.jpg', model);
    if (photoState === 'changed') await photo(store, 'incoming/a.jpg', 'a better photo');
    await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }]), deps);
    expect(queue.sent).toHaveLength(1);
  });

  it('force=true re-does an up-to-date object under a FIFO de-duplication id of its own', async () => {
    // Arrange: the original job went through the same FIFO queue (the S3 event path)
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await committedResult(store, 'incoming/a.jpg', 'm1');
    const head = (await store.head(BUCKET, 'incoming/a.jpg'))!;
    const jobId = jobIdFor({ bucket: BUCKET, key: 'incoming/a.jpg', etag: head.etag }, 'm1');
    await queue.sendBatch([{ id: '0', body: { jobId } as SegmentJob, deduplicationId: jobId }]);
    // Act
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }], { userArguments: { force: 'true' } }), deps));
    // Assert
    expect(r).toEqual({ taskId: 'dGFzay00', resultCode: 'Succeeded', resultString: `enqueued job ${jobId}` });
    const forced = queue.sent.at(-1)!;
    expect(queue.sent).toHaveLength(2); // not swallowed as a duplicate of the original
    expect(forced.deduplicationId).toBe(`${jobId}-${BATCH_JOB}`);
    expect(forced.body.reprocess).toEqual({ runId: BATCH_JOB, force: true });
  });

  it('a retried task (same job, same task) is de-duplicated by SQS: no second job', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    const event = batchEvent([{ encodedKey: 'incoming/a.jpg' }], { userArguments: { force: 'true' } });
    await handleBatchOperations(event, deps);
    await handleBatchOperations(event, deps);
    expect(queue.sent).toHaveLength(1);
  });

  it('without force, the job is marked as a re-processing run (for the webhook) with force=false', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }], { userArguments: { force: 'false' } }), deps);
    const [sent] = queue.sent;
    expect(sent!.body.reprocess).toEqual({ runId: BATCH_JOB, force: false });
    expect(sent!.deduplicationId).toBe(sent!.body.jobId);
  });

  it('model=<version> targets that version: staleness is judged against it and the job carries it', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    await photo(store, 'incoming/b.jpg');
    await committedResult(store, 'incoming/a.jpg', 'm2');
    const res = await handleBatchOperations(
      batchEvent([{ encodedKey: 'incoming/a.jpg' }, { encodedKey: 'incoming/b.jpg' }], { userArguments: { model: 'm2' } }),
      deps,
    );
    expect(res.results.map((r) => r.resultString)).toEqual(['up to date with model m2', expect.stringMatching(/^enqueued job /)]);
    expect(queue.bodies().map((b) => [b.source.key, b.modelVersion])).toEqual([['incoming/b.jpg', 'm2']]);
  });

  it.each(['results/incoming/a.jpg/result.json', 'manifests/rp-1.csv', 'reports/job-1/results.csv'])(
    'skips pipeline output (%s) with Succeeded, whatever the manifest lists',
    async (key) => {
      const { queue, deps } = setup();
      const r = only(await handleBatchOperations(batchEvent([{ encodedKey: key }]), deps));
      expect(r).toMatchObject({ resultCode: 'Succeeded', resultString: expect.stringContaining('pipeline output') });
      expect(queue.sent).toHaveLength(0);
    },
  );

  it('prefix=<p> skips keys outside it (an S3 Inventory manifest lists the whole bucket)', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/2024/a.jpg');
    await photo(store, 'incoming/2025/b.jpg');
    const res = await handleBatchOperations(
      batchEvent([{ encodedKey: 'incoming/2024/a.jpg' }, { encodedKey: 'incoming/2025/b.jpg' }], { userArguments: { prefix: 'incoming/2025/' } }),
      deps,
    );
    expect(res.results.map((r) => r.resultCode)).toEqual(['Succeeded', 'Succeeded']);
    expect(res.results[0]!.resultString).toBe('skipped: outside the prefix "incoming/2025/"');
    expect(queue.bodies().map((b) => b.source.key)).toEqual(['incoming/2025/b.jpg']);
  });

  it('accepts keys outside the S3-event input prefix (re-processing may target any prefix)', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'archive/2019/a.jpg');
    await handleBatchOperations(batchEvent([{ encodedKey: 'archive/2019/a.jpg' }]), deps);
    expect(queue.sent).toHaveLength(1);
  });

  it('an upload ingest would reject (not an image by name) is enqueued flagged, so its failure is recorded', async () => {
    const { store, queue, deps } = setup();
    await photo(store, 'incoming/notes.txt');
    const r = only(await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/notes.txt' }]), deps));
    expect(r.resultString).toMatch(/^enqueued job [0-9a-f]{32} \(rejected upload: recorded as failed\)$/);
    expect(queue.bodies()[0]!.rejection?.code).toBe('UNSUPPORTED_FORMAT');
  });

  it('a task without a bucket is a PermanentFailure', async () => {
    const { deps } = setup();
    const event = batchEvent([{ encodedKey: 'incoming/a.jpg', bucket: '' }]);
    expect(only(await handleBatchOperations(event, deps)).resultCode).toBe('PermanentFailure');
  });

  it('refuses invocation schema 1.0 (no user arguments, bucket ARNs), answering in 1.0', async () => {
    const { queue, deps } = setup();
    const res = await handleBatchOperations(batchEvent([{ encodedKey: 'incoming/a.jpg' }], { invocationSchemaVersion: '1.0' }), deps);
    expect(res.invocationSchemaVersion).toBe('1.0');
    expect(only(res)).toMatchObject({
      resultCode: 'PermanentFailure',
      resultString: 'Expected invocationSchemaVersion "2.0" but received "1.0"',
    });
    expect(queue.sent).toHaveLength(0);
  });

  it('handles several tasks independently (one missing object fails only its task)', async () => {
    const { store, deps } = setup();
    await photo(store, 'incoming/a.jpg');
    const res = await handleBatchOperations(
      batchEvent([{ encodedKey: 'incoming/a.jpg' }, { encodedKey: 'incoming/missing.jpg' }]),
      deps,
    );
    expect(res.results.map((r) => [r.taskId, r.resultCode])).toEqual([
      ['dGFzay00', 'Succeeded'],
      ['dGFzay01', 'PermanentFailure'],
    ]);
  });

  it('is what the ingest Lambda handler runs for a Batch Operations event', async () => {
    const { store, queue, deps } = setup();
    const logs = captureLogs('ingest');
    await photo(store, 'incoming/a.jpg');
    const handler = createIngestHandler({ ...deps, store, logger: logs.logger });
    const res = (await handler(batchEvent([{ encodedKey: 'incoming/a.jpg' }]))) as BatchOperationsResponse;
    logs.restore();
    expect(res.results[0]!.resultCode).toBe('Succeeded');
    expect(queue.sent).toHaveLength(1);
  });
});

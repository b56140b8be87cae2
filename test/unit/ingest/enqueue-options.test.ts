import { describe, expect, it } from 'vitest';
import { StorageError } from '#core/errors';
import type { ObjectStore } from '#core/ports';
import { jobIdFor } from '#core/results';
import type { SegmentJob } from '#core/types';
import { enqueueObjects, headMetadata, type EnqueueDeps } from '#ingest/enqueue';
import { InMemoryObjectStore } from '#test/fakes';
import { InMemoryJobQueue } from '#test/queues';

const clock = { now: () => new Date('2025-01-01T00:00:00Z') };

async function setup(metadata: Record<string, string>, key = 'incoming/shop/a.jpg') {
  const store = new InMemoryObjectStore();
  const { etag } = await store.put('b', key, Buffer.from('jpeg bytes'), { contentType: 'image/jpeg', metadata });
  const queue = new InMemoryJobQueue<SegmentJob>();
  const deps: EnqueueDeps = {
    queue,
    clock,
    modelVersion: 'm1',
    maxBytes: 1000,
    acceptPrefix: 'incoming/',
    profiles: [{ prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#ffffff' } }],
    metadata: headMetadata(store),
  };
  return { store, queue, deps, source: { bucket: 'b', key, etag, size: 10 } };
}

const sentJobs = (queue: InMemoryJobQueue<SegmentJob>) => queue.sent.map((m) => m.body);

describe('enqueueObjects: output options', () => {
  it('puts the prefix profile, overridden by the object metadata, on the job and in its id', async () => {
    const { queue, deps, source } = await setup({ 'greenscreen-max-size': '2000' });
    const [outcome] = await enqueueObjects([source], deps);
    const [job] = sentJobs(queue);
    const spec = { format: 'jpeg', background: { type: 'colour', colour: '#ffffff' }, maxSize: 2000, outputs: 'both' } as const;
    expect(job!.output).toEqual(spec);
    expect(job!.rejection).toBeUndefined();
    // The object's own options travel with the job, for the worker's options index (#core/results)
    expect(job!.overrides).toEqual({ 'max-size': '2000' });
    expect(outcome).toEqual({ key: source.key, status: 'enqueued', jobId: jobIdFor(source, 'm1', spec), rejected: false });
  });

  it('enqueues a bad option as a rejection (INVALID_OUTPUT_OPTION) so the worker records it and the user hears', async () => {
    const { queue, deps, source } = await setup({ 'greenscreen-format': 'bmp' });
    const [outcome] = await enqueueObjects([source], deps);
    expect(outcome).toMatchObject({ status: 'enqueued', rejected: true });
    expect(sentJobs(queue)[0]!.rejection).toEqual({
      code: 'INVALID_OUTPUT_OPTION',
      message: 'Expected option format (from x-amz-meta-greenscreen-format) to be one of png, webp, avif, jpeg but received "bmp"',
    });
    expect(sentJobs(queue)[0]!.overrides).toEqual({ format: 'bmp' });
  });

  it('records "no options of its own" as {} and "not read" as no field at all', async () => {
    const { queue, deps, source } = await setup({ 'unrelated-tag': 'x' });
    await enqueueObjects([source], deps);
    await enqueueObjects([{ ...source, etag: 'other' }], { ...deps, metadata: undefined });
    const [read, unread] = sentJobs(queue);
    expect(read!.overrides).toEqual({});
    expect(unread).not.toHaveProperty('overrides');
  });

  it('asks its metadata source, not the store: a source that already knows answers without a HEAD', async () => {
    const { store, queue, deps, source } = await setup({ 'greenscreen-format': 'webp' });
    let heads = 0;
    const counting: Pick<ObjectStore, 'head'> = { head: (bucket, key) => (heads++, store.head(bucket, key)) };
    await enqueueObjects([source], { ...deps, metadata: headMetadata(counting) });
    await enqueueObjects([{ ...source, etag: 'v2' }], { ...deps, metadata: { metadataOf: () => Promise.resolve({}) } });
    expect(heads).toBe(1);
    expect(sentJobs(queue).map((j) => j.output?.format)).toEqual(['webp', 'jpeg']);
  });

  it('fails the object (the event is retried) when its metadata cannot be read', async () => {
    const { deps, source } = await setup({});
    const failing: Pick<ObjectStore, 'head'> = { head: () => Promise.reject(new StorageError('S3 said 503 SlowDown', { retryable: true })) };
    const [outcome] = await enqueueObjects([source], { ...deps, metadata: headMetadata(failing) });
    expect(outcome).toMatchObject({ status: 'failed', reason: "could not read the object's metadata: S3 said 503 SlowDown" });
  });
});

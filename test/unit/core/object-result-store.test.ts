import { describe, expect, it } from 'vitest';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import { InvalidEventError } from '#core/errors';
import { webhookDataFor } from '#core/messages';
import { optionsRecordKey, recordsNoOverrides, RESULT_METADATA, resultJsonKey, staleIndexEtag, staleIndexKey } from '#core/results';
import { jobResult } from '#test/events';
import { InMemoryObjectStore } from '#test/fakes';

const BUCKET = 'greenscreen-uploads';

describe('ObjectResultStore', () => {
  it('commits result.json with its metadata, then the stale-index marker, and reads it back', async () => {
    const store = new InMemoryObjectStore();
    const results = new ObjectResultStore(store, BUCKET);
    const result = jobResult({ model: { name: 'tiramisu', version: 'model-7' } });

    await results.commit(result);

    const head = await store.head(BUCKET, resultJsonKey(result.source.key));
    expect(head?.metadata).toEqual({
      [RESULT_METADATA.jobId]: result.jobId,
      [RESULT_METADATA.modelVersion]: 'model-7',
      [RESULT_METADATA.sourceEtag]: result.source.etag,
      [RESULT_METADATA.status]: 'succeeded',
    });
    const marker = await store.head(BUCKET, staleIndexKey(result.source.key, 'model-7')!);
    expect(marker?.etag).toBe(staleIndexEtag(result.source.etag));
    expect(await results.read(result.source.key)).toEqual(result);
    expect(await results.readIfCommitted(result.source.key, result.jobId)).toEqual(result);
    expect(await results.readIfCommitted(result.source.key, 'another-job')).toBeUndefined();
    expect(await results.isUpToDate({ key: result.source.key, etag: result.source.etag }, 'model-7')).toBe(true);
    expect(await results.isUpToDate({ key: result.source.key, etag: result.source.etag }, 'model-8')).toBe(false);
    expect(await results.read('incoming/never.jpg')).toBeUndefined();
  });

  it("records the object's own options when the job knows them: a bare source ETag for none, sorted options otherwise", async () => {
    const store = new InMemoryObjectStore();
    const results = new ObjectResultStore(store, BUCKET);
    const plain = jobResult({ source: { bucket: BUCKET, key: 'incoming/plain.jpg', etag: 'e1', size: 1 } });
    const styled = jobResult({ source: { bucket: BUCKET, key: 'incoming/styled.jpg', etag: 'e2', size: 1 } });
    const unknown = jobResult({ source: { bucket: BUCKET, key: 'incoming/unknown.jpg', etag: 'e3', size: 1 } });

    await results.commit(plain, { overrides: {} });
    await results.commit(styled, { overrides: { format: 'webp', background: '#000000' } });
    await results.commit(unknown);

    const record = (key: string) => store.get(BUCKET, optionsRecordKey(key)!).then((o) => o.body.toString('utf8'));
    expect(await record('incoming/plain.jpg')).toBe('e1');
    expect(await record('incoming/styled.jpg')).toBe('e2\n{"background":"#000000","format":"webp"}');
    expect(await store.head(BUCKET, optionsRecordKey('incoming/unknown.jpg')!)).toBeUndefined();
    // What a LIST shows is enough to tell "no options" for this version of the photo, and nothing else
    const listedEtag = async (key: string) => (await store.head(BUCKET, optionsRecordKey(key)!))?.etag;
    expect(recordsNoOverrides(await listedEtag('incoming/plain.jpg'), 'e1')).toBe(true);
    expect(recordsNoOverrides(await listedEtag('incoming/plain.jpg'), 'e1-reuploaded')).toBe(false);
    expect(recordsNoOverrides(await listedEtag('incoming/styled.jpg'), 'e2')).toBe(false);
    expect(recordsNoOverrides(undefined, 'e3')).toBe(false);
  });

  it('refuses a result.json that is not a v1 result, naming the key and the field', async () => {
    const store = new InMemoryObjectStore();
    const key = resultJsonKey('incoming/x.jpg');
    await store.put(BUCKET, key, JSON.stringify({ ...jobResult(), v: 2 }), { contentType: 'application/json' });

    await expect(new ObjectResultStore(store, BUCKET).read('incoming/x.jpg')).rejects.toThrow(
      new InvalidEventError(`Expected ${key} to be a v1 result but: v: Invalid literal value, expected 1`),
    );
  });
});

describe('webhookDataFor', () => {
  it('projects the public fields of a result and only the outputs that exist', () => {
    const failed = jobResult({ status: 'failed', error: { code: 'INVALID_IMAGE', message: 'm' } });
    const data = webhookDataFor(failed, { result: 'https://u' }, '2025-01-01T01:00:00.000Z');
    expect(data).toEqual({
      jobId: failed.jobId,
      status: 'failed',
      source: { bucket: failed.source.bucket, key: failed.source.key, etag: failed.source.etag },
      outputs: { result: failed.outputs.result },
      urls: { result: 'https://u' },
      urlsExpireAt: '2025-01-01T01:00:00.000Z',
      model: failed.model,
      error: { code: 'INVALID_IMAGE', message: 'm' },
      finishedAt: failed.finishedAt,
    });
    expect(data).not.toHaveProperty('timingsMs');
    expect(data).not.toHaveProperty('attempts');
  });
});

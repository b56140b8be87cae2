import { describe, expect, it } from 'vitest';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { ObjectStore } from '#core/ports';
import { listJobs, ResultReader } from '#local/job-status';
import { jobResult } from '#test/events';
import { InMemoryObjectStore } from '#test/fakes';

const BUCKET = 'b';

async function upload(store: InMemoryObjectStore, key: string, body = key): Promise<string> {
  return (await store.put(BUCKET, key, body, { contentType: 'image/jpeg' })).etag;
}

function commit(store: ObjectStore, key: string, etag: string, status: 'succeeded' | 'failed' = 'succeeded') {
  return new ObjectResultStore(store, BUCKET).commit(jobResult({ jobId: `j-${key}`, status, source: { bucket: BUCKET, key, etag, size: 1 } }));
}

describe('listJobs (the page and `greenscreen status` read jobs here)', () => {
  it('pairs each upload with the result for its very version, keeps results of deleted uploads, and says which result.json is unreadable', async () => {
    // Arrange
    const store = new InMemoryObjectStore();
    await commit(store, 'incoming/a.jpg', await upload(store, 'incoming/a.jpg'));
    await commit(store, 'incoming/b.jpg', await upload(store, 'incoming/b.jpg'), 'failed');
    await commit(store, 'incoming/old.jpg', 'etag-of-the-previous-upload');
    await upload(store, 'incoming/old.jpg', 'a new version');
    await upload(store, 'incoming/new.jpg');
    await commit(store, 'incoming/deleted.jpg', 'etag-of-a-deleted-upload');
    await upload(store, 'incoming/broken.jpg');
    await store.put(BUCKET, 'results/incoming/broken.jpg/result.json', '{"status":"succeeded"}', { contentType: 'application/json' });

    // Act
    const entries = await listJobs(store, BUCKET, new ResultReader(store, BUCKET));

    // Assert
    const byKey = Object.fromEntries(entries.map((e) => [e.key, { upload: !!e.source, status: e.result?.status, unreadable: !!e.unreadable }]));
    expect(byKey).toEqual({
      'incoming/a.jpg': { upload: true, status: 'succeeded', unreadable: false },
      'incoming/b.jpg': { upload: true, status: 'failed', unreadable: false },
      'incoming/old.jpg': { upload: true, status: undefined, unreadable: false },
      'incoming/new.jpg': { upload: true, status: undefined, unreadable: false },
      'incoming/broken.jpg': { upload: true, status: undefined, unreadable: true },
      'incoming/deleted.jpg': { upload: false, status: 'succeeded', unreadable: false },
    });
    expect(entries.some((e) => e.key.startsWith('results/'))).toBe(false); // the stale index is not a result
  });

  it('reads each version of a result.json once, however often it is asked', async () => {
    const store = new InMemoryObjectStore();
    await commit(store, 'incoming/a.jpg', await upload(store, 'incoming/a.jpg'));
    let gets = 0;
    const counting: ObjectStore = {
      head: (bucket, key) => store.head(bucket, key),
      put: (bucket, key, body, options) => store.put(bucket, key, body, options),
      list: (bucket, prefix) => store.list(bucket, prefix),
      presignGet: (bucket, key, seconds) => store.presignGet(bucket, key, seconds),
      get: (bucket, key) => (gets++, store.get(bucket, key)),
    };
    const reader = new ResultReader(counting, BUCKET);
    await listJobs(counting, BUCKET, reader);
    await listJobs(counting, BUCKET, reader);
    expect(gets).toBe(1);
    await commit(store, 'incoming/a.jpg', 'another version');
    await listJobs(counting, BUCKET, reader);
    expect(gets).toBe(2);
  });
});

/**
 * The start-up reconcile of a persistent dev stack: each upload is up to date (a result for this
 * model and this very photo), waiting in the jobs queue, or handed to ingest again.
 */
import { describe, expect, it } from 'vitest';
import { staleIndexKey } from '#core/results';
import { reconcileInputs } from '#local/reconcile';
import { InMemoryObjectStore } from '#test/fakes';

const BUCKET = 'b';
const MODEL = 'm1';

async function arrange() {
  const store = new InMemoryObjectStore();
  const put = (key: string, body: string) => store.put(BUCKET, key, body, { contentType: 'image/jpeg' });
  const done = await put('incoming/done.jpg', 'photo 1');
  const changed = await put('incoming/changed.jpg', 'photo 2, uploaded again');
  const queued = await put('incoming/queued.jpg', 'photo 3');
  await put('incoming/lost.jpg', 'photo 4');
  // Markers the worker writes next to result.json: done.jpg for this version, changed.jpg for an older one.
  await store.put(BUCKET, staleIndexKey('incoming/done.jpg', MODEL)!, done.etag, { contentType: 'text/plain' });
  await store.put(BUCKET, staleIndexKey('incoming/changed.jpg', MODEL)!, 'etag of the earlier upload', { contentType: 'text/plain' });
  return { store, etags: { done: done.etag, changed: changed.etag, queued: queued.etag } };
}

describe('reconcileInputs', () => {
  it('settles up-to-date and queued uploads, and leaves the rest to be handed to ingest', async () => {
    const { store, etags } = await arrange();
    const settled = new Map<string, string>();

    const summary = await reconcileInputs({
      store,
      bucket: BUCKET,
      prefix: 'incoming/',
      modelVersion: MODEL,
      queued: [
        { key: 'incoming/queued.jpg', etag: etags.queued },
        { key: 'incoming/changed.jpg', etag: 'etag of the earlier upload' }, // a job for the old version does not count
      ],
      settled: (key, etag) => settled.set(key, etag),
    });

    expect(summary).toEqual({ inputs: 4, upToDate: 1, queued: 1, resubmitted: 2 });
    expect(settled).toEqual(new Map([['incoming/done.jpg', etags.done], ['incoming/queued.jpg', etags.queued]]));
  });

  it('with another model version, nothing is up to date', async () => {
    const { store } = await arrange();
    const summary = await reconcileInputs({ store, bucket: BUCKET, prefix: 'incoming/', modelVersion: 'm2', queued: [], settled: () => undefined });
    expect(summary).toEqual({ inputs: 4, upToDate: 0, queued: 0, resubmitted: 4 });
  });
});

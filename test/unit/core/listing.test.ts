import { describe, expect, it } from 'vitest';
import { listAll, listPages } from '#core/listing';
import type { ListPage } from '#core/ports';
import { ListingObjectStore } from '#test/listing-store';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function storeWith(n: number): Promise<ListingObjectStore> {
  const store = new ListingObjectStore();
  for (let i = 0; i < n; i++) await store.put('b', `p/${String(i).padStart(2, '0')}.jpg`, 'x', { contentType: 'image/jpeg' });
  await store.put('b', 'q/other.jpg', 'x', { contentType: 'image/jpeg' });
  return store;
}

describe('listPages', () => {
  it('follows the continuation token to the last page; StartAfter on the first request only, the page size on each', async () => {
    const store = await storeWith(25);
    const pages: ListPage[] = await collect(listPages(store, 'b', 'p/', { maxKeys: 10, startAfter: 'p/02.jpg' }));
    expect(pages.map((p) => p.objects.length)).toEqual([10, 10, 2]);
    expect(pages.map((p) => p.nextToken !== undefined)).toEqual([true, true, false]);
    expect(store.listCalls).toEqual([
      { prefix: 'p/', options: { startAfter: 'p/02.jpg', maxKeys: 10 } },
      { prefix: 'p/', token: expect.any(String), options: { maxKeys: 10 } },
      { prefix: 'p/', token: expect.any(String), options: { maxKeys: 10 } },
    ]);
  });

  it('is one empty page for an empty prefix', async () => {
    expect(await collect(listPages(new ListingObjectStore(), 'b', 'none/'))).toEqual([{ objects: [] }]);
  });

  it('asks for no further page once aborted', async () => {
    const store = await storeWith(25);
    const ctl = new AbortController();
    const pages: ListPage[] = [];
    for await (const page of listPages(store, 'b', 'p/', { maxKeys: 10, signal: ctl.signal })) {
      pages.push(page);
      ctl.abort();
    }
    expect(pages).toHaveLength(1);
    expect(store.calls.list).toBe(1);
  });
});

describe('listAll', () => {
  it('is every object under the prefix, over as many pages as S3 needs (1000 a page)', async () => {
    const store = await storeWith(0);
    for (let i = 0; i < 2500; i++) await store.put('b', `many/${String(i).padStart(4, '0')}`, 'x', { contentType: 'text/plain' });
    const all = await listAll(store, 'b', 'many/');
    expect(all).toHaveLength(2500);
    expect(all[0]!.key).toBe('many/0000');
    expect(all.at(-1)!.key).toBe('many/2499');
    expect(store.calls.list).toBe(3);
  });
});

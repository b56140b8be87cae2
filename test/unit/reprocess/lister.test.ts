import { describe, expect, it } from 'vitest';
import type { ListPage, ObjectStore } from '#core/ports';
import { compareKeys, listPrefix } from '#reprocess/lister';
import { ListingObjectStore } from '#test/listing-store';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('listPrefix', () => {
  it('pages through the prefix with the page size asked for, StartAfter on the first call only', async () => {
    const store = new ListingObjectStore();
    for (let i = 0; i < 25; i++) await store.put('b', `p/${String(i).padStart(2, '0')}.jpg`, 'x', { contentType: 'image/jpeg' });
    await store.put('b', 'q/other.jpg', 'x', { contentType: 'image/jpeg' });
    const pages = await collect(listPrefix(store, 'b', 'p/', { pageSize: 10, startAfter: 'p/02.jpg' }));
    expect(pages.map((p) => p.objects.length)).toEqual([10, 10, 2]);
    expect(pages.map((p) => p.last)).toEqual([false, false, true]);
    expect(pages[0]!.objects[0]!.key).toBe('p/03.jpg');
    expect(store.listCalls[0]).toEqual({ prefix: 'p/', options: { startAfter: 'p/02.jpg', maxKeys: 10 } });
    expect(store.listCalls[1]).toMatchObject({ token: expect.any(String), options: { maxKeys: 10 } });
  });

  it('yields one empty last page for an empty prefix', async () => {
    expect(await collect(listPrefix(new ListingObjectStore(), 'b', 'none/'))).toEqual([{ objects: [], last: true }]);
  });

  it('refuses a store that does not list in S3 order (a resume with StartAfter would skip keys)', async () => {
    const pages: ListPage[] = [{ objects: [{ key: 'b', etag: '', size: 1 }, { key: 'A', etag: '', size: 1 }] }];
    const store = { list: async () => pages.shift()! } as unknown as ObjectStore;
    await expect(collect(listPrefix(store, 'bkt', ''))).rejects.toThrow(
      'Expected ListObjectsV2 on s3://bkt/ to return keys in ascending UTF-8 byte order (as S3 does) but received "A" after "b"',
    );
  });

  it('stops when aborted', async () => {
    const store = new ListingObjectStore();
    await store.put('b', 'p/1.jpg', 'x', { contentType: 'image/jpeg' });
    const ctl = new AbortController();
    ctl.abort();
    expect(await collect(listPrefix(store, 'b', 'p/', { signal: ctl.signal }))).toEqual([]);
  });
});

describe('compareKeys', () => {
  it.each([
    ['A', 'a', -1],
    ['a/b', 'a-b', 1],
    ['a.jpg', 'a.jpg.png', -1],
    ['\uFFFD', '😀', -1], // UTF-8 bytes, not UTF-16 code units (where the emoji sorts first)
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareKeys(a, b))).toBe(sign);
  });
});

/**
 * InMemoryObjectStore with S3's listing semantics: keys in UTF-8 byte order, pages of `maxKeys`
 * (default 1000), continuation tokens, StartAfter; and request counters. The real counterpart
 * (S3ObjectStore) is tested against the emulator in test/integration/adapters.test.ts and
 * test/integration/reprocess.test.ts.
 */
import type { ListOptions, ListPage, ObjectHead } from '#core/ports';
import { InMemoryObjectStore } from '#test/fakes';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export class ListingObjectStore extends InMemoryObjectStore {
  readonly calls = { list: 0, head: 0 };
  /** Every list call's arguments, in order. */
  readonly listCalls: { prefix: string; token?: string; options?: ListOptions }[] = [];

  override async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    this.calls.head++;
    return super.head(bucket, key);
  }

  override async list(bucket: string, prefix: string, token?: string, options: ListOptions = {}): Promise<ListPage> {
    this.calls.list++;
    this.listCalls.push({ prefix, ...(token ? { token } : {}), ...(Object.keys(options).length ? { options } : {}) });
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : options.startAfter;
    const all = [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${bucket}/${prefix}`))
      .map(([id, e]) => ({ key: id.slice(bucket.length + 1), etag: e.etag, size: e.body.length }))
      .sort((a, b) => byteOrder(a.key, b.key))
      .filter((o) => after === undefined || byteOrder(o.key, after) > 0);
    const max = options.maxKeys ?? 1000;
    const objects = all.slice(0, max);
    const truncated = all.length > max;
    return {
      objects,
      ...(truncated ? { nextToken: Buffer.from(objects.at(-1)!.key, 'utf8').toString('base64url') } : {}),
    };
  }
}

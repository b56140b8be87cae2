/**
 * Reads one of the worker's indexes (#core/results: the stale index, the options index) alongside
 * the source listing. An index key is the source key behind a fixed prefix, so both listings come
 * in the same order: for each source page the cursor LISTs index entries until it has passed the
 * page's last key, answers with each object's entry, and forgets the entries up to that key.
 */
import { listPages } from '#core/listing';
import type { ListedObject, ListPage, ObjectStore } from '#core/ports';
import { compareKeys } from './lister.ts';

export interface IndexCursorOptions {
  store: ObjectStore;
  bucket: string;
  /** The index's prefix (entries are `<indexPrefix><source key>`). */
  indexPrefix: string;
  /** The source listing's prefix. */
  prefix: string;
  /** Entries per LIST. */
  pageSize?: number;
  /** Where the source listing resumes (exclusive). */
  startAfter?: string;
}

export class IndexCursor {
  /** LIST requests made so far. */
  lists = 0;
  /** source key -> the entry's ETag, for entries read but not yet answered. */
  private readonly entries = new Map<string, string>();
  private pages: AsyncGenerator<ListPage> | undefined;
  private lastRead: string | undefined;
  private exhausted = false;

  constructor(private readonly options: IndexCursorOptions) {}

  /** Each object's entry ETag (undefined: no entry). Pages (or parts of them) must come in listing order. */
  async read(page: readonly ListedObject[]): Promise<(string | undefined)[]> {
    const last = page.at(-1);
    if (!last) return [];
    await this.readThrough(last.key);
    const found = page.map((o) => this.entries.get(o.key));
    for (const key of this.entries.keys()) if (compareKeys(key, last.key) <= 0) this.entries.delete(key);
    return found;
  }

  private async readThrough(lastKey: string): Promise<void> {
    const { store, bucket, indexPrefix, prefix, pageSize, startAfter } = this.options;
    this.pages ??= listPages(store, bucket, indexPrefix + prefix, {
      ...(startAfter !== undefined ? { startAfter: indexPrefix + startAfter } : {}),
      ...(pageSize ? { maxKeys: pageSize } : {}),
    });
    while (!this.exhausted && (this.lastRead === undefined || compareKeys(this.lastRead, lastKey) <= 0)) {
      const next = await this.pages.next();
      if (next.done) {
        this.exhausted = true;
        break;
      }
      this.lists++;
      for (const entry of next.value.objects) {
        const sourceKey = entry.key.slice(indexPrefix.length);
        this.entries.set(sourceKey, entry.etag);
        this.lastRead = sourceKey;
      }
      if (!next.value.nextToken) this.exhausted = true;
    }
  }
}

/**
 * "Is this object's result already made by this model from this very version of the photo?"
 * Two ways to answer, same rule as `isUpToDate` (#core/results): `head` asks S3 once per
 * object; `index` lists the worker's stale-index markers alongside the source listing, one LIST per
 * 1000 objects, and asks S3 per object only when a marker cannot prove its case.
 */
import { listPages } from '#core/listing';
import type { ListedObject, ListPage, ObjectStore } from '#core/ports';
import { isUpToDate, staleIndexEtag, staleIndexKey, staleIndexPrefix } from '#core/results';
import { mapConcurrent } from './concurrency.ts';
import { compareKeys } from './lister.ts';

export type StaleCheckMode = 'index' | 'head';

export interface StaleChecker {
  /** One flag per object (true = up to date, skip it). Pages must come in listing order. */
  upToDate(page: readonly ListedObject[]): Promise<boolean[]>;
  /** Requests made so far, by kind (for the summary and the benchmark). */
  readonly requests: { list: number; head: number };
}

export interface StaleCheckOptions {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  modelVersion: string;
  /** Parallel HEADs. */
  headConcurrency: number;
  /** Markers per LIST. */
  pageSize?: number;
  /** Where the source listing resumes (exclusive). */
  startAfter?: string;
}

/** One HEAD of result.json per object. */
export class HeadStaleChecker implements StaleChecker {
  readonly requests = { list: 0, head: 0 };

  constructor(private readonly options: StaleCheckOptions) {}

  upToDate(page: readonly ListedObject[]): Promise<boolean[]> {
    const { store, bucket, modelVersion, headConcurrency } = this.options;
    return mapConcurrent(page, headConcurrency, (o) => {
      this.requests.head++;
      return isUpToDate(store, { bucket, key: o.key, etag: o.etag }, modelVersion);
    });
  }
}

/**
 * Merges the marker listing `results/.index/<model>/<prefix>` into the source listing. Marker keys
 * are the source keys behind a fixed prefix, so they come in the same order: for each source page
 * it reads markers until it has passed the page's last key, and forgets the ones before the page.
 */
export class IndexStaleChecker implements StaleChecker {
  readonly requests = { list: 0, head: 0 };
  private readonly markerPrefix: string;
  /** source key -> the marker's ETag, for markers read but not yet matched. */
  private readonly markers = new Map<string, string>();
  private pages: AsyncGenerator<ListPage> | undefined;
  private lastRead: string | undefined;
  private exhausted = false;

  constructor(private readonly options: StaleCheckOptions) {
    this.markerPrefix = staleIndexPrefix(options.modelVersion);
  }

  async upToDate(page: readonly ListedObject[]): Promise<boolean[]> {
    const last = page.at(-1);
    if (!last) return [];
    await this.readMarkersThrough(last.key);
    const verdicts = await mapConcurrent(page, this.options.headConcurrency, async (o) => {
      const marker = this.markers.get(o.key);
      if (marker === undefined && staleIndexKey(o.key, this.options.modelVersion) !== undefined) return false;
      if (marker === staleIndexEtag(o.etag)) return true;
      // A marker for another version of the photo, a store whose ETags are not MD5s, or a key too
      // long for a marker: only result.json's metadata can tell.
      this.requests.head++;
      return isUpToDate(this.options.store, { bucket: this.options.bucket, key: o.key, etag: o.etag }, this.options.modelVersion);
    });
    for (const key of this.markers.keys()) if (compareKeys(key, last.key) <= 0) this.markers.delete(key);
    return verdicts;
  }

  private async readMarkersThrough(lastKey: string): Promise<void> {
    const { store, bucket, prefix, pageSize, startAfter } = this.options;
    this.pages ??= listPages(store, bucket, this.markerPrefix + prefix, {
      ...(startAfter !== undefined ? { startAfter: this.markerPrefix + startAfter } : {}),
      ...(pageSize ? { maxKeys: pageSize } : {}),
    });
    while (!this.exhausted && (this.lastRead === undefined || compareKeys(this.lastRead, lastKey) <= 0)) {
      const next = await this.pages.next();
      if (next.done) {
        this.exhausted = true;
        break;
      }
      this.requests.list++;
      for (const m of next.value.objects) {
        const sourceKey = m.key.slice(this.markerPrefix.length);
        this.markers.set(sourceKey, m.etag);
        this.lastRead = sourceKey;
      }
      if (!next.value.nextToken) this.exhausted = true;
    }
  }
}

export function createStaleChecker(mode: StaleCheckMode, options: StaleCheckOptions): StaleChecker {
  return mode === 'head' ? new HeadStaleChecker(options) : new IndexStaleChecker(options);
}

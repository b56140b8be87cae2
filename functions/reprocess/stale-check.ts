/**
 * "Is this object's result already made by this model from this very version of the photo?"
 * Two ways to answer, same rule as `isUpToDate` (#core/results): `head` asks S3 once per
 * object; `index` lists the worker's stale-index markers alongside the source listing, one LIST per
 * 1000 objects, and asks S3 per object only when a marker cannot prove its case.
 */
import type { ListedObject, ObjectStore } from '#core/ports';
import { isUpToDate, staleIndexEtag, staleIndexKey, staleIndexPrefix } from '#core/results';
import { mapConcurrent } from './concurrency.ts';
import { IndexCursor } from './index-cursor.ts';

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
 * Merges the marker listing `results/.index/<model>/<prefix>` into the source listing (IndexCursor)
 * and HEADs only the objects whose marker cannot prove their case.
 */
export class IndexStaleChecker implements StaleChecker {
  private readonly cursor: IndexCursor;
  private heads = 0;

  constructor(private readonly options: StaleCheckOptions) {
    const { store, bucket, prefix, pageSize, startAfter } = options;
    this.cursor = new IndexCursor({
      store,
      bucket,
      indexPrefix: staleIndexPrefix(options.modelVersion),
      prefix,
      ...(pageSize ? { pageSize } : {}),
      ...(startAfter !== undefined ? { startAfter } : {}),
    });
  }

  get requests() {
    return { list: this.cursor.lists, head: this.heads };
  }

  async upToDate(page: readonly ListedObject[]): Promise<boolean[]> {
    const markers = await this.cursor.read(page);
    return mapConcurrent(page, this.options.headConcurrency, async (o, i) => {
      const marker = markers[i];
      if (marker === undefined && staleIndexKey(o.key, this.options.modelVersion) !== undefined) return false;
      if (marker === staleIndexEtag(o.etag)) return true;
      // A marker for another version of the photo, a store whose ETags are not MD5s, or a key too
      // long for a marker: only result.json's metadata can tell.
      this.heads++;
      return isUpToDate(this.options.store, { bucket: this.options.bucket, key: o.key, etag: o.etag }, this.options.modelVersion);
    });
  }
}

export function createStaleChecker(mode: StaleCheckMode, options: StaleCheckOptions): StaleChecker {
  return mode === 'head' ? new HeadStaleChecker(options) : new IndexStaleChecker(options);
}

/**
 * Every upload and where its job is, read one way: the sources under incoming/, the committed
 * result.json files read through core's result schema (#core/messages), merged by source key and
 * ETag (a result counts for the very version of the upload it records). Feeds the dev page's job
 * list (web-server.ts) and `greenscreen status` (functions/cli/stack-client.ts); the row is
 * #web/api's JobRow.
 */
import { listAll } from '#core/listing';
import { jobResultSchema, parseMessage, type JobResult } from '#core/messages';
import type { ListedObject, ObjectStore } from '#core/ports';
import { INPUT_PREFIX, RESULTS_PREFIX } from '#core/resources';
import { resultJsonKey, STALE_INDEX_PREFIX } from '#core/results';

/** A result.json as read: the result, or why it could not be read (a row saying so). */
export type ReadResult = { key: string; result: JobResult } | { key: string; unreadable: string };

/** One upload (or one result whose upload is gone) and what the bucket says about its job. */
export interface JobEntry {
  key: string;
  /** The upload, when it is still there. */
  source?: ListedObject;
  /** The committed result for this very version of the upload (or for a deleted upload). */
  result?: JobResult;
  /** Why its result.json could not be read. */
  unreadable?: string;
}

const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, '');

/** The source key whose results live at this result.json key (#core/results' layout). */
const sourceKeyOf = (resultKey: string) => resultKey.slice(RESULTS_PREFIX.length, -'/result.json'.length);

/** Reads committed result.json files, each version once (a poller asks again and again). */
export class ResultReader {
  private readonly cache = new Map<string, { etag: string; read: ReadResult }>();

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** Every committed result under results/ (not the stale index), by source key. */
  async readAll(): Promise<Map<string, ReadResult>> {
    const listed = await listAll(this.store, this.bucket, RESULTS_PREFIX);
    const files = listed.filter((o) => o.key.endsWith('/result.json') && !o.key.startsWith(STALE_INDEX_PREFIX) && o.key === resultJsonKey(sourceKeyOf(o.key)));
    const reads = await Promise.all(files.map((o) => this.read(o)));
    return new Map(reads.map((r) => [r.key, r]));
  }

  private async read(o: ListedObject): Promise<ReadResult> {
    const cached = this.cache.get(o.key);
    if (cached && cached.etag === o.etag) return cached.read;
    let read: ReadResult;
    try {
      const result = parseMessage(jobResultSchema, (await this.store.get(this.bucket, o.key)).body.toString('utf8'), o.key, 'result');
      read = { key: result.source.key, result };
    } catch (err) {
      read = { key: sourceKeyOf(o.key), unreadable: `Expected a result.json but could not read it: ${(err as Error).message}` };
    }
    this.cache.set(o.key, { etag: o.etag ?? '', read });
    return read;
  }
}

/**
 * One entry per upload under incoming/ (with its result when that result is for this version of
 * it), then one per result whose upload is gone, then one per unreadable result.json.
 */
export async function listJobs(store: ObjectStore, bucket: string, results: ResultReader): Promise<JobEntry[]> {
  const [sources, byKey] = await Promise.all([listAll(store, bucket, INPUT_PREFIX), results.readAll()]);
  const entries: JobEntry[] = [];
  for (const source of sources) {
    const r = byKey.get(source.key);
    byKey.delete(source.key);
    if (r && 'result' in r && unquote(r.result.source.etag) === unquote(source.etag)) entries.push({ key: source.key, source, result: r.result });
    else if (r && 'unreadable' in r) entries.push({ key: source.key, source, unreadable: r.unreadable });
    // No result yet for this version of the photo (a re-upload replaces the old result later).
    else entries.push({ key: source.key, source });
  }
  // Results whose upload is gone (deleted after processing) still happened.
  for (const r of byKey.values()) entries.push('result' in r ? { key: r.key, result: r.result } : { key: r.key, unreadable: r.unreadable });
  return entries;
}

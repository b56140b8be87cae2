import { jobResultSchema, parseMessage, type JobResult } from '../messages.ts';
import type { ObjectStore, ResultStore } from '../ports.ts';
import { isUpToDate, optionsRecordBody, optionsRecordKey, RESULT_METADATA, resultJsonKey, staleIndexKey } from '../results.ts';

/**
 * The ResultStore over any ObjectStore (S3, or the emulator through the same S3 adapter): the key
 * layout, metadata and commit order of #core/results.
 */
export class ObjectResultStore implements ResultStore {
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
  ) {}

  async putOutput(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.store.put(this.bucket, key, body, { contentType });
  }

  async commit(result: JobResult, recorded: { overrides?: Readonly<Record<string, string>> } = {}): Promise<void> {
    const modelVersion = result.model.version;
    await this.store.put(this.bucket, result.outputs.result, JSON.stringify(result, null, 2), {
      contentType: 'application/json',
      metadata: {
        [RESULT_METADATA.jobId]: result.jobId,
        [RESULT_METADATA.modelVersion]: modelVersion,
        [RESULT_METADATA.sourceEtag]: result.source.etag,
        [RESULT_METADATA.status]: result.status,
      },
    });
    // The stale-index marker that bulk re-processing lists instead of HEADing every result.json.
    // After result.json: a crash in between makes the object look stale (done again once), never
    // up to date without a result. Only a hint, so failing to write it must not fail, and so re-run,
    // a job whose result is already committed.
    const marker = staleIndexKey(result.source.key, modelVersion);
    if (marker) await this.store.put(this.bucket, marker, result.source.etag, { contentType: 'text/plain' }).catch(() => undefined);
    // The options record, by the same rule (a hint: missing or unwritable = one HEAD when re-processed).
    const record = optionsRecordKey(result.source.key);
    if (record && recorded.overrides) {
      const body = optionsRecordBody(result.source.etag, recorded.overrides);
      await this.store.put(this.bucket, record, body, { contentType: 'text/plain' }).catch(() => undefined);
    }
  }

  async read(sourceKey: string): Promise<JobResult | undefined> {
    const key = resultJsonKey(sourceKey);
    if (!(await this.store.head(this.bucket, key))) return undefined;
    return this.get(key);
  }

  async readIfCommitted(sourceKey: string, jobId: string): Promise<JobResult | undefined> {
    const key = resultJsonKey(sourceKey);
    const head = await this.store.head(this.bucket, key);
    if (head?.metadata[RESULT_METADATA.jobId] !== jobId) return undefined;
    return this.get(key);
  }

  isUpToDate(source: { key: string; etag: string }, modelVersion: string): Promise<boolean> {
    return isUpToDate(this.store, { bucket: this.bucket, ...source }, modelVersion);
  }

  private async get(key: string): Promise<JobResult> {
    const stored = await this.store.get(this.bucket, key);
    return parseMessage(jobResultSchema, stored.body.toString('utf8'), key, 'result');
  }
}

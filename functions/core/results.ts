/**
 * The result contract, in one place: where a source object's results live, the metadata on
 * result.json, the commit protocol (outputs first, result.json last, then the stale-index marker
 * and the options record), the stale index, the options index, and the job id that names a result set. The worker writes through a
 * `ResultStore` (#core/ports, adapter in adapters/object-result-store.ts); ingest, reprocess, notify
 * and the CLI read through it or through the functions here.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from './ports.ts';
import { RESULTS_PREFIX } from './resources.ts';
import type { JobOutputs, ObjectRef } from './messages.ts';
import { canonicalSpec, DEFAULT_OUTPUT_SPEC, FORMAT_FILES, isDefaultSpec, type OutputSpec } from './output-options.ts';

/** Where a source object's results live. Outputs sit in a per-job folder; result.json points at them. */
export function resultPrefix(sourceKey: string): string {
  return `${RESULTS_PREFIX}${sourceKey}/`;
}

/** Keys of the files a job writes: the outputs its spec asks for (the cut-out's extension follows its format). */
export function resultKeys(sourceKey: string, jobId: string, spec: OutputSpec = DEFAULT_OUTPUT_SPEC): JobOutputs {
  const base = resultPrefix(sourceKey);
  return {
    ...(spec.outputs !== 'cutout' ? { mask: `${base}${jobId}/mask.png` } : {}),
    ...(spec.outputs !== 'mask' ? { cutout: `${base}${jobId}/cutout.${FORMAT_FILES[spec.format].ext}` } : {}),
    result: `${base}result.json`,
  };
}

/** The commit marker of a source object's current result set. */
export function resultJsonKey(sourceKey: string): string {
  return `${resultPrefix(sourceKey)}result.json`;
}

/**
 * Deterministic job id: the same object version processed by the same model with the same output
 * options is the same job, so a re-delivered S3 event (or a repeated Batch Operations task) cannot
 * create a second one, while new options (a changed profile or metadata) make a new job. The default
 * spec adds nothing to the hash, so ids of default jobs are those from before options existed.
 */
export function jobIdFor(
  source: Pick<ObjectRef, 'bucket' | 'key' | 'etag' | 'versionId'>,
  modelVersion: string,
  spec: OutputSpec | { invalidOptions: Record<string, string> } = DEFAULT_OUTPUT_SPEC,
): string {
  const parts = [source.bucket, source.key, source.versionId ?? '', source.etag, modelVersion];
  if ('invalidOptions' in spec) parts.push(`invalid ${JSON.stringify(Object.entries(spec.invalidOptions).sort())}`);
  else if (!isDefaultSpec(spec)) parts.push(canonicalSpec(spec));
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** Object metadata the worker puts on result.json, so staleness is one HEAD, not a GET + parse. */
export const RESULT_METADATA = {
  jobId: 'job-id',
  modelVersion: 'model-version',
  sourceEtag: 'source-etag',
  status: 'status',
} as const;

/**
 * Is there already a result for this exact source version made by this model version?
 * Failed results count as up to date (a corrupt photo stays corrupt) unless the caller forces.
 */
export async function isUpToDate(
  store: ObjectStore,
  source: { bucket: string; key: string; etag: string },
  modelVersion: string,
): Promise<boolean> {
  const head = await store.head(source.bucket, resultJsonKey(source.key));
  if (!head) return false;
  return (
    head.metadata[RESULT_METADATA.modelVersion] === modelVersion &&
    head.metadata[RESULT_METADATA.sourceEtag] === source.etag
  );
}

/**
 * The stale index: next to result.json the worker writes one tiny marker per (model version,
 * source key) at `results/.index/<model version>/<source key>`, whose body is the source ETag.
 *
 * Why: bulk re-processing must decide "stale or not" for millions of objects. A HEAD per object
 * is one request each; the markers let it LIST `results/.index/<model>/<prefix>` instead, 1000
 * answers per request. The marker key is the source key behind a fixed prefix, so both listings
 * come back in the same order and can be merged page by page (a marker key with the ETag appended
 * would not sort like its source key: "a.jpg/…" sorts after "a.jpg.png/…").
 *
 * ListObjectsV2 returns each marker's own ETag, not its metadata: for a single-part upload to an
 * SSE-S3 (or unencrypted) bucket that ETag is the MD5 of the body, so `md5(source ETag)` proves the
 * marker is for this very version of the source. Where ETags are not MD5s (SSE-KMS, some
 * S3-compatible stores) the proof fails and the caller falls back to `isUpToDate` (one HEAD):
 * slower, never wrong. A missing marker means "no committed result for this model" (or a result
 * committed before markers existed: that object is re-done once).
 */
export const STALE_INDEX_PREFIX = `${RESULTS_PREFIX}.index/`;

/** S3 keys are at most 1024 UTF-8 bytes; a source key too long for a marker is checked by HEAD. */
const MAX_KEY_BYTES = 1024;

export function staleIndexPrefix(modelVersion: string): string {
  return `${STALE_INDEX_PREFIX}${encodeURIComponent(modelVersion)}/`;
}

/** The marker's key, or undefined when it would be longer than S3 allows. */
export function staleIndexKey(sourceKey: string, modelVersion: string): string | undefined {
  const key = staleIndexPrefix(modelVersion) + sourceKey;
  return Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES ? key : undefined;
}

/** What the marker's ETag is when it records `sourceEtag` (MD5 of its body). */
export function staleIndexEtag(sourceEtag: string): string {
  return createHash('md5').update(sourceEtag, 'utf8').digest('hex');
}

/**
 * The options index: at commit the worker also writes one record per source key, whatever the
 * model, at `results/.index/@options/<source key>` (`@` cannot begin an encoded model version, so
 * the two indexes never mix): the source ETag, followed by the object's own output options (its
 * `greenscreen-*` metadata, sorted) when it has any.
 *
 * Why: re-processing for a new model finds every object stale and must know each object's options
 * to resolve its output spec: one HEAD per object. Most objects have no options of their own, and
 * for them the record's body is the bare source ETag, so its listed ETag is `staleIndexEtag(source
 * ETag)`: one LIST proves "this very version of the photo has no options" for 1000 objects. A record
 * with options, for another version of the photo, or on a store whose ETags are not MD5s proves
 * nothing and the object is HEADed, as without the index.
 *
 * Limit: S3 ETags do not cover metadata. A photo re-uploaded with the same bytes but new options is
 * read with its old options (none) by a re-processing run that lists it before the upload's own job
 * commits (which rewrites the record); that upload's own job still runs with the new ones.
 */
export const OPTIONS_INDEX_PREFIX = `${STALE_INDEX_PREFIX}@options/`;

/** The record's key, or undefined when it would be longer than S3 allows. */
export function optionsRecordKey(sourceKey: string): string | undefined {
  const key = OPTIONS_INDEX_PREFIX + sourceKey;
  return Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES ? key : undefined;
}

/** The record's body: the source ETag, then the options (sorted) when there are any. */
export function optionsRecordBody(sourceEtag: string, overrides: Readonly<Record<string, string>>): string {
  const entries = Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? `${sourceEtag}\n${JSON.stringify(Object.fromEntries(entries))}` : sourceEtag;
}

/** Whether a listed record's ETag proves that this version of the source has no options of its own. */
export function recordsNoOverrides(recordEtag: string | undefined, sourceEtag: string): boolean {
  return recordEtag !== undefined && recordEtag === staleIndexEtag(sourceEtag);
}

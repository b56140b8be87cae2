import type { ObjectStore } from '#core/ports';
import { resultKeys } from '#core/resources';

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
  const head = await store.head(source.bucket, resultKeys(source.key, '').result);
  if (!head) return false;
  return (
    head.metadata[RESULT_METADATA.modelVersion] === modelVersion &&
    head.metadata[RESULT_METADATA.sourceEtag] === source.etag
  );
}

import { createHash } from 'node:crypto';
import type { ObjectRef } from '#core/types';

/**
 * Deterministic job id: the same object version processed by the same model is the same job, so a
 * re-delivered S3 event (or a repeated Batch Operations task) cannot create a second one.
 */
export function jobIdFor(source: Pick<ObjectRef, 'bucket' | 'key' | 'etag' | 'versionId'>, modelVersion: string): string {
  return createHash('sha256')
    .update([source.bucket, source.key, source.versionId ?? '', source.etag, modelVersion].join('\n'))
    .digest('hex')
    .slice(0, 32);
}

import type { S3Event } from 'aws-lambda';
import { InvalidEventError } from '#core/errors';
import type { ObjectRef } from '#core/types';

/** S3 notification keys are URL-encoded with '+' for spaces (application/x-www-form-urlencoded). */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (err) {
    throw new InvalidEventError(`Expected a URL-encoded S3 key but received ${JSON.stringify(raw)}`, { cause: err });
  }
}

export function isS3Event(event: unknown): event is S3Event {
  const records = (event as { Records?: unknown[] } | null)?.Records;
  return Array.isArray(records) && records.every((r) => (r as { eventSource?: string }).eventSource === 'aws:s3');
}

/** ObjectCreated records become object references; other event names (removals, tests) are ignored. */
export function objectsFromS3Event(event: S3Event): ObjectRef[] {
  return event.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeS3Key(r.s3.object.key),
    etag: (r.s3.object.eTag ?? '').replace(/"/g, ''),
    size: r.s3.object.size ?? 0,
    ...(r.s3.object.versionId ? { versionId: r.s3.object.versionId } : {}),
  }));
}

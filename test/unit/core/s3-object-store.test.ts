/**
 * S3ObjectStore's answers to S3's 403 and 404, with the real adapter over an S3 client whose calls
 * fail as S3's do (no network). On AWS a HEAD of a key that does not exist answers 403 unless the
 * role may list the bucket for that key; the local emulator answers 404 whatever the policy, so
 * this is where the 403 case is pinned: a clear error naming the permissions, not a generic
 * storage failure, and never "not found".
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { AccessDeniedError, ObjectNotFoundError, StorageError } from '#core/errors';

const BUCKET = 'greenscreen-uploads-abc';

/** An S3 client whose every call fails with this S3 error. */
function failingS3(name: string, status: number): S3Client {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  s3.send = (async () => {
    throw new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
  }) as S3Client['send'];
  return s3;
}

const HEAD_DENIED = (key: string) =>
  `Expected S3 HeadObject of s3://${BUCKET}/${key} to answer 200 or 404 but it answered 403 Access Denied: the role needs s3:GetObject on arn:aws:s3:::${BUCKET}/${key}, and s3:ListBucket on arn:aws:s3:::${BUCKET} with an s3:prefix condition that covers "${key}" (without it S3 answers 403 for a key that does not exist)`;

describe('S3ObjectStore: 403 and 404', () => {
  it('HEAD 404 is "not there" (undefined)', async () => {
    await expect(new S3ObjectStore(failingS3('NotFound', 404)).head(BUCKET, 'results/a.jpg/result.json')).resolves.toBeUndefined();
  });

  // A HEAD 403 has no body: the SDK names it by its status; with a body it is AccessDenied.
  it.each(['403', 'Forbidden', 'AccessDenied'])('HEAD 403 (%s) is ACCESS_DENIED naming s3:GetObject and s3:ListBucket, never "not there"', async (name) => {
    const key = 'results/incoming/a.jpg/result.json';

    const err = await new S3ObjectStore(failingS3(name, 403)).head(BUCKET, key).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err).toMatchObject({ code: 'ACCESS_DENIED', retryable: false, message: HEAD_DENIED(key), permissions: ['s3:GetObject', 's3:ListBucket'] });
    expect((err as Error).cause).toBeInstanceOf(S3ServiceException);
    expect(err).not.toBeInstanceOf(StorageError);
  });

  it('GET 404 is OBJECT_NOT_FOUND; GET 403 is ACCESS_DENIED with the same two permissions', async () => {
    await expect(new S3ObjectStore(failingS3('NoSuchKey', 404)).get(BUCKET, 'incoming/a.jpg')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(new S3ObjectStore(failingS3('AccessDenied', 403)).get(BUCKET, 'incoming/a.jpg')).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
      message: expect.stringMatching(/^Expected S3 GetObject of s3:\/\/greenscreen-uploads-abc\/incoming\/a\.jpg to answer the object or 404 but it answered 403 Access Denied: the role needs s3:GetObject on /),
      permissions: ['s3:GetObject', 's3:ListBucket'],
    });
  });

  it.each([
    ['put', (s: S3ObjectStore) => s.put(BUCKET, 'results/a.jpg/result.json', '{}', { contentType: 'application/json' }), `Expected S3 PutObject of s3://${BUCKET}/results/a.jpg/result.json to be allowed but it answered 403 Access Denied: the role needs s3:PutObject on arn:aws:s3:::${BUCKET}/results/a.jpg/result.json`],
    ['list', (s: S3ObjectStore) => s.list(BUCKET, 'incoming/'), `Expected S3 ListObjectsV2 of s3://${BUCKET}/incoming/ to be allowed but it answered 403 Access Denied: the role needs s3:ListBucket on arn:aws:s3:::${BUCKET} with an s3:prefix condition that covers "incoming/"`],
  ] as const)('%s 403 is ACCESS_DENIED naming the one permission', async (_, call, message) => {
    await expect(call(new S3ObjectStore(failingS3('AccessDenied', 403)))).rejects.toMatchObject({ code: 'ACCESS_DENIED', message });
  });

  it.each(['SignatureDoesNotMatch', 'RequestTimeTooSkewed'])('a 403 about credentials or the clock (%s) stays a STORAGE_ERROR', async (name) => {
    await expect(new S3ObjectStore(failingS3(name, 403)).head(BUCKET, 'incoming/a.jpg')).rejects.toMatchObject({ code: 'STORAGE_ERROR', retryable: false });
  });

  it("the worker's \"is this job already committed?\" HEAD: 404 means no, 403 is ACCESS_DENIED (the job is not silently redone or failed as storage trouble)", async () => {
    await expect(new ObjectResultStore(new S3ObjectStore(failingS3('NotFound', 404)), BUCKET).readIfCommitted('incoming/a.jpg', 'j'.repeat(32))).resolves.toBeUndefined();
    await expect(new ObjectResultStore(new S3ObjectStore(failingS3('403', 403)), BUCKET).readIfCommitted('incoming/a.jpg', 'j'.repeat(32))).rejects.toMatchObject({
      code: 'ACCESS_DENIED',
      message: HEAD_DENIED('results/incoming/a.jpg/result.json'),
    });
  });
});

import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AccessDeniedError, ImageTooLargeError, ObjectNotFoundError, StorageError } from '../errors.ts';
import type { ListOptions, ListPage, ObjectHead, ObjectStore, PutOptions, StoredObject } from '../ports.ts';

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
  }
  return false;
}

/** 403s that are not about permissions (credentials, clock): stay StorageErrors. */
const NOT_ABOUT_PERMISSIONS = new Set(['SignatureDoesNotMatch', 'RequestTimeTooSkewed', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken']);

function isAccessDenied(err: unknown): boolean {
  return err instanceof S3ServiceException && err.$metadata?.httpStatusCode === 403 && !NOT_ABOUT_PERMISSIONS.has(err.name);
}

type S3Action = 'HeadObject' | 'GetObject' | 'PutObject' | 'ListObjectsV2';

/**
 * A 403 as an error that names what the caller lacks. A HEAD or GET may be asking about a key that
 * does not exist: without s3:ListBucket covering that key, S3 answers 403 instead of 404, which is
 * what "not found" looks like to a role that may not list (HeadObject, "Permissions").
 */
function accessDenied(action: S3Action, bucket: string, keyOrPrefix: string, err: unknown): AccessDeniedError {
  const object = `arn:aws:s3:::${bucket}/${keyOrPrefix}`;
  const list = `s3:ListBucket on arn:aws:s3:::${bucket}`;
  const what = `S3 ${action} of s3://${bucket}/${keyOrPrefix}`;
  switch (action) {
    case 'HeadObject':
    case 'GetObject':
      return new AccessDeniedError(
        `Expected ${what} to answer ${action === 'HeadObject' ? '200 or 404' : 'the object or 404'} but it answered 403 Access Denied: the role needs s3:GetObject on ${object}, and ${list} with an s3:prefix condition that covers "${keyOrPrefix}" (without it S3 answers 403 for a key that does not exist)`,
        { cause: err, permissions: ['s3:GetObject', 's3:ListBucket'] },
      );
    case 'PutObject':
      return new AccessDeniedError(`Expected ${what} to be allowed but it answered 403 Access Denied: the role needs s3:PutObject on ${object}`, {
        cause: err,
        permissions: ['s3:PutObject'],
      });
    case 'ListObjectsV2':
      return new AccessDeniedError(
        `Expected ${what} to be allowed but it answered 403 Access Denied: the role needs ${list} with an s3:prefix condition that covers "${keyOrPrefix}"`,
        { cause: err, permissions: ['s3:ListBucket'] },
      );
  }
}

function storageError(action: S3Action, bucket: string, key: string, err: unknown): StorageError | AccessDeniedError {
  if (isAccessDenied(err)) return accessDenied(action, bucket, key, err);
  const status = err instanceof S3ServiceException ? err.$metadata?.httpStatusCode : undefined;
  // 4xx other than throttling are our fault or the object's: not worth retrying.
  const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StorageError(`S3 ${action} s3://${bucket}/${key} failed: ${reason}`, { cause: err, retryable });
}

/** ObjectStore over the real S3 client; local mode passes a client with an emulator endpoint. */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async get(bucket: string, key: string, options: { versionId?: string; maxBytes?: number } = {}): Promise<StoredObject> {
    try {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(options.versionId ? { VersionId: options.versionId } : {}) }),
      );
      const size = res.ContentLength ?? 0;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        res.Body?.transformToWebStream().cancel().catch(() => undefined);
        throw new ImageTooLargeError(`Expected an upload of at most ${options.maxBytes} bytes but received ${size} bytes`);
      }
      const bytes = await res.Body!.transformToByteArray();
      return {
        body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        etag: unquote(res.ETag),
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(res.VersionId ? { versionId: res.VersionId } : {}),
      };
    } catch (err) {
      if (err instanceof ImageTooLargeError) throw err;
      if (isNotFound(err)) {
        throw new ObjectNotFoundError(`Expected s3://${bucket}/${key} to exist but it was not found`, { cause: err });
      }
      throw storageError('GetObject', bucket, key, err);
    }
  }

  async head(bucket: string, key: string, options: { versionId?: string } = {}): Promise<ObjectHead | undefined> {
    try {
      const res = await this.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, ...(options.versionId ? { VersionId: options.versionId } : {}) }),
      );
      return {
        etag: unquote(res.ETag),
        size: res.ContentLength ?? 0,
        metadata: res.Metadata ?? {},
        ...(res.ContentType ? { contentType: res.ContentType } : {}),
        ...(res.VersionId ? { versionId: res.VersionId } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageError('HeadObject', bucket, key, err);
    }
  }

  async put(bucket: string, key: string, body: Buffer | string, options: PutOptions): Promise<{ etag: string }> {
    try {
      const res = await this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          ...(options.metadata ? { Metadata: options.metadata } : {}),
        }),
      );
      return { etag: unquote(res.ETag) };
    } catch (err) {
      throw storageError('PutObject', bucket, key, err);
    }
  }

  async list(bucket: string, prefix: string, token?: string, options: ListOptions = {}): Promise<ListPage> {
    try {
      const res = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : options.startAfter ? { StartAfter: options.startAfter } : {}),
          ...(options.maxKeys ? { MaxKeys: options.maxKeys } : {}),
        }),
      );
      return {
        objects: (res.Contents ?? []).map((o) => ({ key: o.Key!, etag: unquote(o.ETag), size: o.Size ?? 0 })),
        ...(res.IsTruncated && res.NextContinuationToken ? { nextToken: res.NextContinuationToken } : {}),
      };
    } catch (err) {
      throw storageError('ListObjectsV2', bucket, prefix, err);
    }
  }

  async presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
  }
}

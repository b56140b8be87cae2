/**
 * In-memory stand-ins for the ports. Each real counterpart (core/adapters) has its own test.
 */
import { createHash } from 'node:crypto';
import type { ListPage, ObjectHead, ObjectStore, PutOptions, StoredObject } from '#core/ports';
import { ObjectNotFoundError } from '#core/errors';

interface Entry {
  body: Buffer;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
}

/** ObjectStore in memory. `presignGet` returns S3-shaped URLs whose query string is the "secret". */
export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Entry>();
  readonly presigned: { bucket: string; key: string; expiresInSeconds: number }[] = [];

  private id(bucket: string, key: string): string {
    return `${bucket}/${key}`;
  }

  async get(bucket: string, key: string): Promise<StoredObject> {
    const e = this.objects.get(this.id(bucket, key));
    if (!e) throw new ObjectNotFoundError(`Expected s3://${bucket}/${key} to exist but it was not found`);
    return { body: e.body, etag: e.etag, contentType: e.contentType };
  }

  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    const e = this.objects.get(this.id(bucket, key));
    return e && { etag: e.etag, size: e.body.length, contentType: e.contentType, metadata: e.metadata };
  }

  async put(bucket: string, key: string, body: Buffer | string, options: PutOptions): Promise<{ etag: string }> {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const etag = createHash('md5').update(bytes).digest('hex');
    this.objects.set(this.id(bucket, key), {
      body: bytes,
      etag,
      contentType: options.contentType,
      metadata: options.metadata ?? {},
    });
    return { etag };
  }

  async list(bucket: string, prefix: string): Promise<ListPage> {
    const objects = [...this.objects.entries()]
      .filter(([id]) => id.startsWith(`${bucket}/${prefix}`))
      .map(([id, e]) => ({ key: id.slice(bucket.length + 1), etag: e.etag, size: e.body.length }))
      .sort((a, b) => a.key.localeCompare(b.key));
    return { objects };
  }

  async presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    this.presigned.push({ bucket, key, expiresInSeconds });
    const signature = createHash('sha256').update(`${bucket}/${key}`).digest('hex');
    return (
      `https://${bucket}.s3.us-east-1.amazonaws.com/${key.split('/').map(encodeURIComponent).join('/')}` +
      `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${expiresInSeconds}&X-Amz-Signature=${signature}`
    );
  }
}

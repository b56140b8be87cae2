/**
 * Emulators do not emit S3 notifications. This turns new (or overwritten) objects under the input
 * prefix into the exact S3 ObjectCreated event JSON and invokes a handler with it, as S3 -> Lambda
 * does (one record per event, retried until the handler accepts it: an upload is never dropped).
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { listAll } from '#core/listing';
import type { ListedObject, ObjectStore } from '#core/ports';

/** S3 encodes notification keys like a form: spaces become '+', everything else %XX (slashes kept). */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export function s3EventRecord(
  bucket: string,
  object: ListedObject,
  options: { region?: string; eventTime?: Date; sequencer?: string } = {},
): S3EventRecord {
  const region = options.region ?? 'us-east-1';
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: (options.eventTime ?? new Date()).toISOString(),
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:LOCAL' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'LOCAL', 'x-amz-id-2': 'LOCAL' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'greenscreen-ingest',
      bucket: { name: bucket, ownerIdentity: { principalId: 'LOCAL' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: encodeS3EventKey(object.key),
        size: object.size,
        eTag: object.etag,
        sequencer: options.sequencer ?? Date.now().toString(16).toUpperCase().padStart(16, '0'),
      },
    },
  };
}

export interface S3EventSourceOptions {
  bucket: string;
  prefix: string;
  pollMs?: number;
  concurrency?: number;
  region?: string;
  onError?: (key: string, err: unknown) => void;
}

const MAX_LISTING_BACKOFF_MS = 5000;

export class LocalS3EventSource {
  private readonly seen = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> | undefined;
  private stopped = false;
  emitted = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly invoke: (event: S3Event) => Promise<unknown>,
    private readonly options: S3EventSourceOptions,
  ) {}

  start(): void {
    const pollMs = this.options.pollMs ?? 250;
    let delay = pollMs;
    const tick = async () => {
      if (this.stopped) return;
      let listed = true;
      let sent = 0;
      this.polling = this.pollOnce()
        .then((n) => (sent = n))
        .catch((err) => {
          listed = false;
          this.options.onError?.('(listing)', err);
        });
      await this.polling;
      // While the endpoint cannot be listed, back off (doubling up to 5 s) instead of erroring at the poll rate.
      // While nothing new arrives, list less often (up to 4x the poll interval): a listing of a big
      // prefix costs the emulator and this process CPU that the worker needs.
      delay = !listed
        ? Math.min(MAX_LISTING_BACKOFF_MS, Math.max(pollMs, delay * 2))
        : sent > 0
          ? pollMs
          : Math.min(pollMs * 4, Math.max(pollMs, delay * 2));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), delay); // tick handles its own errors
    };
    void tick();
  }

  /** Treat this version of an object as already handed over (the start-up reconcile settled it). */
  markSeen(key: string, etag: string): void {
    this.seen.set(key, etag);
  }

  /** One scan: every new or changed object becomes one event; failed invocations are retried next scan. */
  async pollOnce(): Promise<number> {
    const listed = await listAll(this.store, this.options.bucket, this.options.prefix);
    const fresh: ListedObject[] = listed.filter((o) => this.seen.get(o.key) !== o.etag);
    let next = 0;
    let sent = 0;
    const worker = async () => {
      while (next < fresh.length && !this.stopped) {
        const o = fresh[next++]!;
        try {
          await this.invoke({ Records: [s3EventRecord(this.options.bucket, o, { region: this.options.region })] });
          this.seen.set(o.key, o.etag);
          this.emitted++;
          sent++;
        } catch (err) {
          this.options.onError?.(o.key, err);
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency ?? 8 }, worker));
    return sent;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }
}

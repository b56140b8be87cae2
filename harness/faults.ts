/**
 * Fault injection at the adapter boundary: wrappers around a real ObjectStore / MessageQueue that fail
 * some calls, deterministically (every Nth call, or with probability p from a seeded generator).
 * A fault happens either before the call (nothing reached the service) or after it (the service
 * did the work but the caller hears a failure, as with a timeout on the way back), which is the
 * case that makes duplicates.
 */
import { QueueError, StorageError } from '#core/errors';
import type {
  MessageQueue,
  ListPage,
  ObjectHead,
  ObjectStore,
  OutgoingMessage,
  ReceivedMessage,
  SendBatchResult,
  StoredObject,
} from '#core/ports';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultTiming = 'before' | 'after';

export interface FaultPolicy {
  /** Fail every Nth call (counted per injector). */
  everyNth?: number;
  /** Fail each call with this probability (seeded). */
  probability?: number;
  seed?: number;
  /** Only these methods are faulted (all when unset); every call is still counted. */
  methods?: readonly string[];
  /** Before or after the call; 'mixed' draws one per fault from the seeded generator. Default 'before'. */
  timing?: FaultTiming | 'mixed';
  /** Stop injecting after this many faults (keeps retry time bounded). */
  maxFaults?: number;
}

export interface MethodCounts {
  calls: number;
  faults: number;
}

/** Decides which calls fail, and counts calls and faults per method. */
export class FaultInjector {
  enabled = true;
  readonly counts: Record<string, MethodCounts> = {};
  private eligible = 0;
  private injected = 0;
  private readonly random: () => number;

  constructor(private readonly policy: FaultPolicy = {}) {
    this.random = seededRandom(policy.seed ?? 1);
  }

  get calls(): number {
    return Object.values(this.counts).reduce((n, c) => n + c.calls, 0);
  }

  get faults(): number {
    return this.injected;
  }

  callsOf(method: string): number {
    return this.counts[method]?.calls ?? 0;
  }

  /** Counts the call; says whether (and when) it fails. */
  next(method: string): FaultTiming | undefined {
    const c = (this.counts[method] ??= { calls: 0, faults: 0 });
    c.calls++;
    const { everyNth, probability, methods, maxFaults } = this.policy;
    if (!this.enabled || (methods && !methods.includes(method))) return undefined;
    if (maxFaults !== undefined && this.injected >= maxFaults) return undefined;
    this.eligible++;
    const fail =
      (everyNth !== undefined && this.eligible % everyNth === 0) ||
      (probability !== undefined && this.random() < probability);
    if (!fail) return undefined;
    this.injected++;
    c.faults++;
    const timing = this.policy.timing ?? 'before';
    return timing === 'mixed' ? (this.random() < 0.5 ? 'before' : 'after') : timing;
  }

  /** Runs `call` under the policy; `fail` builds the error the real adapter would throw. */
  async run<T>(method: string, call: () => Promise<T>, fail: (n: number) => Error): Promise<T> {
    const timing = this.next(method);
    if (timing === 'before') throw fail(this.counts[method]!.calls);
    const result = await call();
    if (timing === 'after') throw fail(this.counts[method]!.calls);
    return result;
  }
}

/** An ObjectStore whose calls fail as the injector says, with retryable StorageErrors. */
export class FaultyObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    readonly faults: FaultInjector,
  ) {}

  private error(action: string, bucket: string, key: string) {
    return (n: number) =>
      new StorageError(`S3 ${action} s3://${bucket}/${key} failed: injected fault (call ${n})`, { retryable: true });
  }

  // Arguments are passed through whole, so new optional parameters of the port reach the adapter.
  get(...args: Parameters<ObjectStore['get']>): Promise<StoredObject> {
    return this.faults.run('get', () => this.inner.get(...args), this.error('GetObject', args[0], args[1]));
  }

  head(...args: Parameters<ObjectStore['head']>): Promise<ObjectHead | undefined> {
    return this.faults.run('head', () => this.inner.head(...args), this.error('HeadObject', args[0], args[1]));
  }

  put(...args: Parameters<ObjectStore['put']>): Promise<{ etag: string }> {
    return this.faults.run('put', () => this.inner.put(...args), this.error('PutObject', args[0], args[1]));
  }

  list(...args: Parameters<ObjectStore['list']>): Promise<ListPage> {
    return this.faults.run('list', () => this.inner.list(...args), this.error('ListObjectsV2', args[0], args[1]));
  }

  /** Presigning is local computation (no call to S3): never faulted. */
  presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    return this.inner.presignGet(bucket, key, expiresInSeconds);
  }
}

/**
 * A MessageQueue whose calls fail as the injector says. `sendBatch` keeps the adapter's contract (it
 * reports refused entries rather than throwing); the other methods throw retryable QueueErrors.
 */
export class FaultyMessageQueue<T> implements MessageQueue<T> {
  constructor(
    private readonly inner: MessageQueue<T>,
    readonly faults: FaultInjector,
    private readonly name = 'queue',
  ) {}

  private error(action: string) {
    return (n: number) => new QueueError(`SQS ${action} on ${this.name} failed: injected fault (call ${n})`);
  }

  async sendBatch(messages: OutgoingMessage<T>[]): Promise<SendBatchResult> {
    const timing = this.faults.next('sendBatch');
    const refuseAll = (): SendBatchResult => ({
      failed: messages.map((m) => ({ id: m.id, reason: `InternalError: injected fault on ${this.name}` })),
    });
    if (timing === 'before') return refuseAll();
    const result = await this.inner.sendBatch(messages);
    return timing === 'after' ? refuseAll() : result;
  }

  receive(...args: Parameters<MessageQueue<T>['receive']>): Promise<ReceivedMessage<T>[]> {
    return this.faults.run('receive', () => this.inner.receive(...args), this.error('ReceiveMessage'));
  }

  delete(receiptHandle: string): Promise<void> {
    return this.faults.run('delete', () => this.inner.delete(receiptHandle), this.error('DeleteMessage'));
  }

  extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    return this.faults.run(
      'extendVisibility',
      () => this.inner.extendVisibility(receiptHandle, seconds),
      this.error('ChangeMessageVisibility'),
    );
  }

  release(receiptHandle: string, delaySeconds: number): Promise<void> {
    return this.faults.run('release', () => this.inner.release(receiptHandle, delaySeconds), this.error('ChangeMessageVisibility'));
  }
}

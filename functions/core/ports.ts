/** What the use cases need from the outside world. Adapters live in `core/adapters/`. */
import type { JobResult } from './messages.ts';

export interface StoredObject {
  body: Buffer;
  etag: string;
  contentType?: string;
  versionId?: string;
}

export interface ObjectHead {
  etag: string;
  size: number;
  contentType?: string;
  versionId?: string;
  metadata: Record<string, string>;
}

export interface ListedObject {
  key: string;
  etag: string;
  size: number;
}

export interface ListPage {
  objects: ListedObject[];
  nextToken?: string;
}

/** ListObjectsV2 knobs. Keys come back in ascending UTF-8 byte order, so `startAfter` resumes a listing. */
export interface ListOptions {
  /** Only keys after this one (exclusive). Ignored when a continuation token is given. */
  startAfter?: string;
  /** Page size (S3 returns at most 1000). */
  maxKeys?: number;
}

export interface PutOptions {
  contentType: string;
  metadata?: Record<string, string>;
}

export interface ObjectStore {
  get(bucket: string, key: string, options?: { versionId?: string; maxBytes?: number }): Promise<StoredObject>;
  /** `undefined` when the object (or that version of it) does not exist. */
  head(bucket: string, key: string, options?: { versionId?: string }): Promise<ObjectHead | undefined>;
  put(bucket: string, key: string, body: Buffer | string, options: PutOptions): Promise<{ etag: string }>;
  list(bucket: string, prefix: string, token?: string, options?: ListOptions): Promise<ListPage>;
  presignGet(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
}

export interface OutgoingMessage<T> {
  /** Unique within the batch. */
  id: string;
  body: T;
  /** FIFO de-duplication id (ignored by standard queues). */
  deduplicationId?: string;
  groupId?: string;
  delaySeconds?: number;
}

export interface ReceivedMessage<T> {
  messageId: string;
  receiptHandle: string;
  body: T;
  receiveCount: number;
}

export interface SendBatchResult {
  /** ids (from OutgoingMessage.id) that the queue refused after all retries. */
  failed: { id: string; reason: string }[];
}

/** A queue of messages of one kind: the jobs queue (`MessageQueue<SegmentJob>`), the events queue (`MessageQueue<JobEvent>`). */
export interface MessageQueue<T> {
  sendBatch(messages: OutgoingMessage<T>[]): Promise<SendBatchResult>;
  receive(options: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<
    ReceivedMessage<T>[]
  >;
  delete(receiptHandle: string): Promise<void>;
  extendVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Put a message back for a later retry (visibility = delay). */
  release(receiptHandle: string, delaySeconds: number): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Result sets (#core/results): the worker writes outputs, then commits result.json (the commit
 * marker) and the stale-index marker; everyone else reads committed results through here.
 */
export interface ResultStore {
  /** One output file of a job, before its commit. */
  putOutput(key: string, body: Buffer, contentType: string): Promise<void>;
  /**
   * Writes result.json last (with its metadata), then the stale-index marker and, when the job
   * knows the object's own options (`overrides`, from its SegmentJob), the options record (both
   * best effort). The model version in the metadata and the marker is the result's own
   * `model.version`: one value.
   */
  commit(result: JobResult, recorded?: { overrides?: Readonly<Record<string, string>> }): Promise<void>;
  /** The committed result of a source key (validated), or undefined when there is none. */
  read(sourceKey: string): Promise<JobResult | undefined>;
  /** The committed result when it is this very job's (one HEAD, a GET only on a match). */
  readIfCommitted(sourceKey: string, jobId: string): Promise<JobResult | undefined>;
  /** Same rule as #core/results `isUpToDate`: this source version by this model version. */
  isUpToDate(source: { key: string; etag: string }, modelVersion: string): Promise<boolean>;
}

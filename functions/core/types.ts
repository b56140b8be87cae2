/** Messages and records that cross process boundaries. Versioned: `v` changes when a shape does. */

export interface ObjectRef {
  bucket: string;
  key: string;
  /** S3 ETag without quotes. */
  etag: string;
  versionId?: string;
  size: number;
}

/** One message on the jobs queue. */
export interface SegmentJob {
  v: 1;
  jobId: string;
  source: ObjectRef;
  modelVersion: string;
  /** Set by bulk re-processing; surfaces in the webhook payload. */
  reprocess?: { runId: string; force: boolean };
  /**
   * Set when ingest already knows the upload cannot be processed (empty, over the size limit,
   * not an image by its name): the worker records this failure without downloading anything.
   */
  rejection?: JobFailure;
  enqueuedAt: string;
}

export type JobStatus = 'succeeded' | 'failed';

export interface JobOutputs {
  mask: string;
  cutout: string;
  result: string;
}

export interface JobFailure {
  code: string;
  message: string;
}

/** `results/<source key>/result.json`: written last, it is the commit marker of a result set. */
export interface JobResult {
  v: 1;
  jobId: string;
  status: JobStatus;
  source: ObjectRef;
  model: { name: string; version: string };
  outputs: JobOutputs;
  /** Original (upright) size of the photo, when it could be read. */
  width?: number;
  height?: number;
  /** Resolution the model ran at. */
  modelInput?: { width: number; height: number };
  timingsMs: Record<string, number>;
  error?: JobFailure;
  reprocess?: { runId: string };
  attempts: number;
  finishedAt: string;
}

export type JobEventType = 'job.succeeded' | 'job.failed';

/** One message on the events (notify) queue. */
export interface JobEvent {
  v: 1;
  type: JobEventType;
  /** Stable across redeliveries: becomes the `webhook-id`. */
  eventId: string;
  result: JobResult;
}

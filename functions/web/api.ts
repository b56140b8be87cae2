/**
 * The wire format of the dev server's small API (functions/local/web-server.ts serves it, the page's
 * api-client.ts reads it): one home for the contract both sides share. Types only.
 */
export interface ApiInfo {
  bucket: string;
  inputPrefix: string;
  endpoint: string;
  webhookUrl: string;
  maxUploadBytes: number;
  maxInputPixels: number;
  model: string;
}

/** Where a job is; `pending` only from S3 and SQS alone (`greenscreen status --endpoint`), which cannot tell queued from running. */
export type JobStatus = 'queued' | 'running' | 'pending' | 'succeeded' | 'failed';

/** One upload and its job: the page's job list and `greenscreen status` (functions/local/job-status.ts). */
export interface JobRow {
  key: string;
  status: JobStatus;
  jobId?: string;
  /** When the server first saw this version of the photo (newest first). */
  uploadedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  /** Same-origin URLs of the outputs (api/object?key=…). */
  mask?: string;
  cutout?: string;
  width?: number;
  height?: number;
  totalMs?: number;
}

export interface JobList {
  jobs: JobRow[];
  counts: Record<Exclude<JobStatus, 'pending'>, number>;
}

export interface DeliveryRow {
  at: string;
  webhookId?: string;
  /** The receiver's HTTP answer; 401 = the signature did not verify. */
  httpStatus: number | 'hang';
  verified: boolean;
  duplicate: boolean;
  type?: string;
  key?: string;
  jobId?: string;
  errorCode?: string;
}

export interface DeliveryList {
  deliveries: DeliveryRow[];
  accepted: number;
  rejected: number;
  duplicates: number;
}

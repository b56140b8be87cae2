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

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

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
  counts: Record<JobStatus, number>;
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

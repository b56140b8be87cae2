/**
 * `greenscreen upload` and `status` against a running `greenscreen dev` (or any S3/SQS-compatible
 * endpoint with the pipeline's bucket and queues), through the same adapters as the pipeline.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { ConfigError } from '#core/errors';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { listJobs, ResultReader } from '#local/job-status';
import type { JobList, JobRow, JobStatus } from '#web/api';

export interface StackAddress {
  endpoint: string;
  bucket: string;
}

/** Fails at once, with the hint to start a stack, when nothing listens at the endpoint. */
export async function probeStack(endpoint: string, timeoutMs = 2000): Promise<void> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new ConfigError(`Expected a greenscreen stack at ${endpoint} but ${why}; start one with \`greenscreen dev\``));
    };
    socket.setTimeout(timeoutMs, () => fail(`nothing answered within ${timeoutMs} ms`));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'nothing listens there' : `it cannot be reached (${err.code ?? err.message})`));
  });
}

export async function uploadFiles(
  at: StackAddress,
  files: readonly { file: string; key: string }[],
  onProgress: (done: number) => void,
): Promise<number> {
  await probeStack(at.endpoint);
  const s3 = createS3Client({ region: 'us-east-1', endpoint: at.endpoint });
  const store = new S3ObjectStore(s3);
  let done = 0;
  try {
    for (const f of files) {
      await store.put(at.bucket, f.key, await readFile(f.file), { contentType: 'application/octet-stream' });
      onProgress(++done);
    }
  } finally {
    s3.destroy();
  }
  return done;
}

export interface StackStatus {
  /** One row per upload (and per result whose upload is gone), by key. */
  jobs: JobRow[];
  /** The jobs queue: waiting, and received by the worker but not finished. */
  queue: { queued: number; inProgress: number };
  /** Where the per-job states came from: the dev process (exact) or S3 + SQS (pending = either). */
  source: 'dev' | 's3';
}

/**
 * The job list of a running `greenscreen dev`, from the API of its page (the process knows which
 * jobs its worker is reading); undefined when no dev process answers there.
 */
export async function devJobs(pageUrl: string, options: { required: boolean; timeoutMs?: number }): Promise<StackStatus | undefined> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let res: Response;
  try {
    res = await fetch(new URL('/api/jobs', pageUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    if (!options.required) return undefined;
    const why = (err as Error).name === 'TimeoutError' ? `it did not answer within ${timeoutMs} ms` : 'nothing answers there';
    throw new ConfigError(`Expected the page of a running \`greenscreen dev\` at ${pageUrl} but ${why}; start one with \`greenscreen dev\``, { cause: err });
  }
  if (!res.ok) {
    if (!options.required) return undefined;
    throw new ConfigError(`Expected the job list from ${pageUrl} but it answered HTTP ${res.status}`);
  }
  const list = (await res.json()) as JobList;
  const jobs: JobRow[] = list.jobs
    .map((j) => ({ key: j.key, status: j.status, ...(j.jobId ? { jobId: j.jobId } : {}), ...(j.error ? { error: j.error } : {}) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const count = (st: JobStatus) => jobs.filter((j) => j.status === st).length;
  return { jobs, queue: { queued: count('queued'), inProgress: count('running') }, source: 'dev' };
}

/**
 * Every upload under the input prefix and its job: `succeeded`/`failed` when result.json records
 * this very version of the upload (same ETag), else `pending` (queued or being processed: SQS
 * cannot say which message is which, so the queue's counts are given alongside).
 */
export async function stackStatus(at: StackAddress): Promise<StackStatus> {
  await probeStack(at.endpoint);
  const conn = { region: 'us-east-1', endpoint: at.endpoint };
  const s3 = createS3Client(conn);
  const sqs = createSqsClient(conn);
  const store = new S3ObjectStore(s3);
  try {
    const jobs = (await listJobs(store, at.bucket, new ResultReader(store, at.bucket))).map((e): JobRow => {
      if (e.unreadable) return { key: e.key, status: 'failed', error: { code: 'UNREADABLE', message: e.unreadable } };
      if (!e.result) return { key: e.key, status: 'pending' };
      const { status, jobId, error } = e.result;
      return { key: e.key, status, jobId, ...(error ? { error: { code: error.code, message: error.message } } : {}) };
    });
    jobs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: RESOURCE_DEFAULTS.jobsQueue.name }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const n = (name: string) => Number(attrs.Attributes?.[name as keyof typeof attrs.Attributes] ?? 0);
    return {
      jobs,
      queue: {
        queued: n('ApproximateNumberOfMessages') + n('ApproximateNumberOfMessagesDelayed'),
        inProgress: n('ApproximateNumberOfMessagesNotVisible'),
      },
      source: 's3',
    };
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

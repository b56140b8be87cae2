import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { ENV, notifyConfigSchema, parseConfig } from '#core/config';
import { DeliveryError, InvalidEventError, toPipelineError, type PipelineError } from '#core/errors';
import { createLogger, type Logger } from '#core/logger';
import { systemClock, type Clock, type MessageQueue } from '#core/ports';
import { deliverJobEvent, type DeliverDeps } from './deliver.ts';
import { createHttpClient } from './http-client.ts';
import { parseJobEvent } from './job-event.ts';
import { subscriptionsFromConfig } from './subscriptions.ts';
import { createUrlGuard } from './url-guard.ts';

/**
 * Lambda entry for the events queue. Each record is one job event; records are delivered
 * concurrently. Retryable failures are put back with a delay (ChangeMessageVisibility: exponential
 * backoff with full jitter from the receive count, or the endpoint's Retry-After) and reported in
 * `batchItemFailures`; the queue's redrive policy moves a message to the DLQ after maxReceiveCount.
 * Malformed messages are reported too (visible again at once) so they reach the DLQ, where a person
 * can look at them, instead of being dropped.
 */

export const BACKOFF_BASE_SECONDS = 2;
export const BACKOFF_CAP_SECONDS = 15 * 60;
/**
 * SQS allows at most 12 h of visibility counted from the receive; Lambda has already spent up to
 * its 15-minute maximum since then, so stay that far below.
 */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60 - 15 * 60;

export type NotifyHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

export interface NotifyDeps {
  deliver: DeliverDeps;
  /** The queue a record came from, for ChangeMessageVisibility. */
  queueFor: (record: SQSRecord) => Pick<MessageQueue<unknown>, 'release'>;
  logger: Logger;
  clock?: Clock;
  /** [0, 1), for jitter. */
  random?: () => number;
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(n-1))], n = receive count. */
export function backoffSeconds(receiveCount: number, random: () => number = Math.random): number {
  const attempt = Math.max(1, receiveCount);
  const ceiling = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1));
  return Math.floor(random() * (ceiling + 1));
}

/** How long a failed record stays invisible: the endpoint's Retry-After when given, else backoff. */
export function retryDelaySeconds(error: PipelineError, receiveCount: number, random: () => number = Math.random): number {
  if (error instanceof InvalidEventError) return 0;
  if (error instanceof DeliveryError && error.retryAfterSeconds !== undefined) {
    return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(error.retryAfterSeconds)));
  }
  return Math.min(MAX_VISIBILITY_SECONDS, backoffSeconds(receiveCount, random));
}

/**
 * The handler, with its dependencies given directly (tests, local mode) or by a factory that runs
 * once, on the first invocation (Lambda cold start).
 */
export function createNotifyHandler(deps: NotifyDeps | (() => NotifyDeps | Promise<NotifyDeps>)): NotifyHandler {
  let ready: Promise<NotifyDeps> | undefined;
  const resolveDeps = (): Promise<NotifyDeps> => {
    if (!ready) {
      ready = Promise.resolve().then(() => (typeof deps === 'function' ? deps() : deps));
      // A failed start-up is retried on the next invocation rather than cached forever.
      ready.catch(() => (ready = undefined));
    }
    return ready;
  };

  return async (event) => {
    const d = await resolveDeps();
    const random = d.random ?? Math.random;
    const clock = d.clock ?? systemClock;
    const failures = await Promise.all(event.Records.map((record) => handleRecord(record, d, clock, random)));
    return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
  };
}

async function handleRecord(
  record: SQSRecord,
  deps: NotifyDeps,
  clock: Clock,
  random: () => number,
): Promise<SQSBatchItemFailure | undefined> {
  const started = clock.now().getTime();
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  let log: Record<string, unknown> = { messageId: record.messageId, receiveCount, stage: 'notify' };
  try {
    const event = parseJobEvent(record.body, record.messageId);
    log = { ...log, jobId: event.result.jobId, objectKey: event.result.source.key, webhookId: event.eventId };
    await deliverJobEvent(event, deps.deliver);
    deps.logger.info('Job event handled', { ...log, durationMs: clock.now().getTime() - started });
    return undefined;
  } catch (err) {
    const error = toPipelineError(err);
    const delaySeconds = retryDelaySeconds(error, receiveCount, random);
    const fields = {
      ...log,
      code: error.code,
      error: error.message,
      retryInSeconds: delaySeconds,
      durationMs: clock.now().getTime() - started,
    };
    if (error instanceof InvalidEventError) {
      deps.logger.error('Malformed job event; returning it to the queue for the DLQ', fields);
    } else {
      deps.logger.warn('Job event will be retried', fields);
    }
    try {
      await deps.queueFor(record).release(record.receiptHandle, delaySeconds);
    } catch (releaseErr) {
      // Still reported as failed: it comes back after the queue's own visibility timeout.
      deps.logger.warn('Could not set the retry delay', {
        ...log,
        error: releaseErr instanceof Error ? releaseErr.message : String(releaseErr),
      });
    }
    return { itemIdentifier: record.messageId };
  }
}

/**
 * The queue URL for a record: GREENSCREEN_EVENTS_QUEUE_URL when set, else derived from the
 * record's eventSourceARN (arn:aws:sqs:<region>:<account>:<name>).
 */
export function queueUrlFromArn(arn: string, endpoint?: string): string {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') {
    throw new InvalidEventError(`Expected an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>) but received ${arn}`);
  }
  const [, partition, , region, account, name] = parts as [string, string, string, string, string, string];
  const base = endpoint?.replace(/\/$/, '') ?? `https://sqs.${region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  return `${base}/${account}/${name}`;
}

/** Wires the real adapters from the environment. Called once, on the first invocation. */
export function notifyDepsFromEnv(env: NodeJS.ProcessEnv = process.env, logger: Logger = createLogger('notify')): NotifyDeps {
  const config = parseConfig(notifyConfigSchema, env);
  const conn = { region: config[ENV.region], ...(config[ENV.endpoint] ? { endpoint: config[ENV.endpoint] } : {}) };
  const local = conn.endpoint !== undefined;
  const sqs = createSqsClient(conn);
  const subscriptions = subscriptionsFromConfig(
    config,
    () =>
      new SecretsManagerClient({
        region: conn.region,
        ...(local ? { endpoint: conn.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
      }),
  );
  const queues = new Map<string, SqsMessageQueue<unknown>>();
  const queueFor = (record: SQSRecord) => {
    const url = config[ENV.eventsQueueUrl] ?? queueUrlFromArn(record.eventSourceARN, conn.endpoint);
    let queue = queues.get(url);
    if (!queue) queues.set(url, (queue = new SqsMessageQueue<unknown>(sqs, url)));
    return queue;
  };
  return {
    deliver: {
      subscriptions,
      objectStore: new S3ObjectStore(createS3Client(conn)),
      urlGuard: createUrlGuard({
        allowHttp: config[ENV.allowHttpWebhooks],
        allowLoopback: config[ENV.allowLoopbackWebhooks],
      }),
      http: createHttpClient({ timeoutMs: config[ENV.webhookTimeoutMs] }),
      clock: systemClock,
      presignSeconds: config[ENV.presignSeconds],
      logger,
    },
    queueFor,
    logger,
  };
}

export const handler: NotifyHandler = createNotifyHandler(() => notifyDepsFromEnv());

import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { SQS_MAX_BATCH } from '#core/adapters/sqs-message-queue';
import type { Logger } from '#core/logger';

/**
 * Drives any SQS-triggered Lambda handler the way Lambda's event source mapping does: long-polls
 * the queue, hands the handler a real-shaped `SQSEvent`, then deletes the records that succeeded
 * (all but those in `batchItemFailures`; none when the handler throws or answers with an unknown
 * itemIdentifier, which Lambda also treats as a failure of the whole batch). Failed records are left
 * alone: they come back when their visibility timeout ends, as in AWS.
 */

export type SqsLambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsLambdaHandler;
  /** 1 to 10 (default 10). */
  batchSize?: number;
  /** Long-poll wait, 0 to 20 s (default 20). */
  waitTimeSeconds?: number;
  /** Visibility timeout for received messages; the queue's own when unset. */
  visibilityTimeoutSeconds?: number;
  region?: string;
  functionName?: string;
  /** Stops the loop like `stop()`. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Pause after a failed ReceiveMessage before polling again (default 1000 ms). */
  errorBackoffMs?: number;
}

export interface SqsEventSource {
  /** Stops polling; resolves after the batch in flight (if any) has been handled and deleted. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  /** Batches handed to the handler so far. */
  readonly batches: number;
}

const DEFAULT_ACCOUNT = '000000000000';

/** `arn:aws:sqs:<region>:<account>:<name>` for a queue URL (`.../<account>/<name>`). */
export function queueArnFromUrl(queueUrl: string, region: string): string {
  const segments = new URL(queueUrl).pathname.split('/').filter(Boolean);
  const name = segments.at(-1) ?? queueUrl;
  const account = segments.length >= 2 && /^\d{12}$/.test(segments.at(-2)!) ? segments.at(-2)! : DEFAULT_ACCOUNT;
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** One received message in the shape Lambda gives the handler. */
export function toSqsRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const a = message.Attributes ?? {};
  const attributes: SQSRecord['attributes'] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '0',
    SenderId: a.SenderId ?? DEFAULT_ACCOUNT,
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? a.SentTimestamp ?? '0',
    ...(a.AWSTraceHeader !== undefined ? { AWSTraceHeader: a.AWSTraceHeader } : {}),
    ...(a.SequenceNumber !== undefined ? { SequenceNumber: a.SequenceNumber } : {}),
    ...(a.MessageGroupId !== undefined ? { MessageGroupId: a.MessageGroupId } : {}),
    ...(a.MessageDeduplicationId !== undefined ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    ...(a.DeadLetterQueueSourceArn !== undefined ? { DeadLetterQueueSourceArn: a.DeadLetterQueueSourceArn } : {}),
  };
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes,
    messageAttributes: toRecordAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

function toRecordAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attrs ?? {})) {
    out[name] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    };
  }
  return out;
}

function lambdaContext(functionName: string, region: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const fail = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${DEFAULT_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const batchSize = Math.min(SQS_MAX_BATCH, Math.max(1, options.batchSize ?? SQS_MAX_BATCH));
  const waitTimeSeconds = Math.min(20, Math.max(0, options.waitTimeSeconds ?? 20));
  const region = options.region ?? 'us-east-1';
  const arn = queueArnFromUrl(options.queueUrl, region);
  const functionName = options.functionName ?? arn.split(':').at(-1)!.replace(/\W/g, '-');
  const errorBackoffMs = options.errorBackoffMs ?? 1000;
  const polling = new AbortController();
  let batches = 0;

  const stopPolling = () => polling.abort();
  if (options.signal?.aborted) stopPolling();
  options.signal?.addEventListener('abort', stopPolling, { once: true });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        polling.signal.removeEventListener('abort', done);
        resolve();
      }
      polling.signal.addEventListener('abort', done, { once: true });
    });

  const receive = async (): Promise<Message[]> => {
    try {
      const res = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
          ...(options.visibilityTimeoutSeconds !== undefined
            ? { VisibilityTimeout: options.visibilityTimeoutSeconds }
            : {}),
        }),
        { abortSignal: polling.signal },
      );
      return res.Messages ?? [];
    } catch (err) {
      if (polling.signal.aborted) return [];
      options.logger?.warn('ReceiveMessage failed; polling again shortly', {
        queueUrl: options.queueUrl,
        error: err instanceof Error ? err.message : String(err),
      });
      await sleep(errorBackoffMs);
      return [];
    }
  };

  const handleBatch = async (messages: Message[]) => {
    const records = messages.map((m) => toSqsRecord(m, arn, region));
    batches++;
    let response: SQSBatchResponse | void;
    try {
      const timeoutMs = (options.visibilityTimeoutSeconds ?? 30) * 1000;
      response = await options.handler({ Records: records }, lambdaContext(functionName, region, timeoutMs));
    } catch (err) {
      options.logger?.error('Handler threw; the whole batch will be redelivered', {
        queueUrl: options.queueUrl,
        messages: records.length,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    const known = new Set(records.map((r) => r.messageId));
    const unknown = [...failed].filter((id) => !known.has(id));
    if (unknown.length > 0) {
      options.logger?.error('Handler reported failures for messages not in the batch; treating the batch as failed', {
        queueUrl: options.queueUrl,
        unknown,
      });
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    try {
      const res = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((r, i) => ({ Id: `d${i}`, ReceiptHandle: r.receiptHandle })),
        }),
      );
      if (res.Failed?.length) {
        options.logger?.warn('Some handled messages could not be deleted and will be redelivered', {
          queueUrl: options.queueUrl,
          failed: res.Failed.map((f) => `${f.Code}: ${f.Message ?? ''}`),
        });
      }
    } catch (err) {
      options.logger?.warn('DeleteMessageBatch failed; handled messages will be redelivered', {
        queueUrl: options.queueUrl,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  const done = (async () => {
    while (!polling.signal.aborted) {
      const messages = await receive();
      // Messages received just as stop() was called are still handled (their receive counted).
      if (messages.length > 0) await handleBatch(messages);
    }
  })().finally(() => options.signal?.removeEventListener('abort', stopPolling));

  return {
    stop() {
      stopPolling();
      return done;
    },
    done,
    get batches() {
      return batches;
    },
  };
}

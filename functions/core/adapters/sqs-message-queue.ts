import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueError } from '../errors.ts';
import type { MessageQueue, OutgoingMessage, ReceivedMessage, SendBatchResult } from '../ports.ts';

export const SQS_MAX_BATCH = 10;

export interface SqsMessageQueueOptions {
  /** Attempts for entries SQS refuses with a retryable (sender-fault=false) error. */
  maxSendAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** MessageQueue over the real SQS client (JSON protocol); local mode points the client at the emulator. */
export class SqsMessageQueue<T> implements MessageQueue<T> {
  private readonly fifo: boolean;
  private readonly maxSendAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    options: SqsMessageQueueOptions = {},
  ) {
    this.fifo = queueUrl.endsWith('.fifo');
    this.maxSendAttempts = options.maxSendAttempts ?? 5;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** SendMessageBatch, 10 per call, retrying the entries that failed with backoff. */
  async sendBatch(messages: OutgoingMessage<T>[]): Promise<SendBatchResult> {
    const failed: SendBatchResult['failed'] = [];
    const chunks: OutgoingMessage<T>[][] = [];
    for (let i = 0; i < messages.length; i += SQS_MAX_BATCH) chunks.push(messages.slice(i, i + SQS_MAX_BATCH));
    await Promise.all(chunks.map(async (chunk) => failed.push(...(await this.sendChunk(chunk)))));
    return { failed };
  }

  private async sendChunk(chunk: OutgoingMessage<T>[]): Promise<SendBatchResult['failed']> {
    const refused: SendBatchResult['failed'] = [];
    let pending = chunk;
    let lastReasons = new Map<string, string>();
    for (let attempt = 1; attempt <= this.maxSendAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random()));
      try {
        const res = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map((m, i) => ({
              Id: `m${i}`,
              MessageBody: JSON.stringify(m.body),
              ...(this.fifo
                ? { MessageDeduplicationId: m.deduplicationId ?? m.id, MessageGroupId: m.groupId ?? m.id }
                : {}),
              ...(m.delaySeconds && !this.fifo ? { DelaySeconds: m.delaySeconds } : {}),
            })),
          }),
        );
        const byEntry = new Map(pending.map((m, i) => [`m${i}`, m]));
        const retry: OutgoingMessage<T>[] = [];
        lastReasons = new Map();
        for (const f of res.Failed ?? []) {
          const m = byEntry.get(f.Id!);
          if (!m) continue;
          const reason = `${f.Code}: ${f.Message ?? ''}`.trim();
          if (f.SenderFault) {
            refused.push({ id: m.id, reason }); // malformed entry: retrying cannot help
            continue;
          }
          retry.push(m);
          lastReasons.set(m.id, reason);
        }
        pending = retry;
      } catch (err) {
        lastReasons = new Map(pending.map((m) => [m.id, err instanceof Error ? err.message : String(err)]));
      }
    }
    return [...refused, ...pending.map((m) => ({ id: m.id, reason: lastReasons.get(m.id) ?? 'unknown' }))];
  }

  async receive(options: {
    max: number;
    waitSeconds: number;
    visibilitySeconds?: number;
    signal?: AbortSignal;
  }): Promise<ReceivedMessage<T>[]> {
    try {
      const res = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(SQS_MAX_BATCH, options.max),
          WaitTimeSeconds: options.waitSeconds,
          ...(options.visibilitySeconds ? { VisibilityTimeout: options.visibilitySeconds } : {}),
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      return (res.Messages ?? []).map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: JSON.parse(m.Body ?? 'null') as T,
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
      }));
    } catch (err) {
      if (options.signal?.aborted) return [];
      throw new QueueError(`SQS ReceiveMessage on ${this.queueUrl} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    try {
      await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
    } catch (err) {
      throw new QueueError(`SQS DeleteMessage on ${this.queueUrl} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (err) {
      throw new QueueError(`SQS ChangeMessageVisibility on ${this.queueUrl} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  release(receiptHandle: string, delaySeconds: number): Promise<void> {
    return this.extendVisibility(receiptHandle, delaySeconds);
  }
}

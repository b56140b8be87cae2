/**
 * An in-memory MessageQueue with FIFO de-duplication semantics (the real counterpart, SqsMessageQueue,
 * has its own tests against the emulator and against scripted SQS responses).
 */
import type { MessageQueue, OutgoingMessage, ReceivedMessage, SendBatchResult } from '#core/ports';

export class InMemoryJobQueue<T> implements MessageQueue<T> {
  readonly sent: OutgoingMessage<T>[] = [];
  readonly deleted: string[] = [];
  readonly released: { receiptHandle: string; delaySeconds: number }[] = [];
  private readonly dedup = new Set<string>();
  private visible: ReceivedMessage<T>[] = [];
  /** Message ids (OutgoingMessage.id) to refuse on the next send, with this reason. */
  refuseNext = new Map<string, string>();
  private seq = 0;

  constructor(private readonly fifo = true) {}

  async sendBatch(messages: OutgoingMessage<T>[]): Promise<SendBatchResult> {
    const failed: SendBatchResult['failed'] = [];
    for (const m of messages) {
      const refused = this.refuseNext.get(m.id);
      if (refused !== undefined) {
        this.refuseNext.delete(m.id);
        failed.push({ id: m.id, reason: refused });
        continue;
      }
      const dedupId = m.deduplicationId ?? m.id;
      if (this.fifo && this.dedup.has(dedupId)) continue;
      this.dedup.add(dedupId);
      this.sent.push(m);
      const n = ++this.seq;
      this.visible.push({ messageId: `m${n}`, receiptHandle: `r${n}`, body: structuredClone(m.body), receiveCount: 1 });
    }
    return { failed };
  }

  async receive(options: { max: number }): Promise<ReceivedMessage<T>[]> {
    return this.visible.splice(0, options.max);
  }

  async delete(receiptHandle: string): Promise<void> {
    this.deleted.push(receiptHandle);
  }

  async extendVisibility(): Promise<void> {}

  async release(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.released.push({ receiptHandle, delaySeconds });
  }

  bodies(): T[] {
    return this.sent.map((m) => m.body);
  }
}

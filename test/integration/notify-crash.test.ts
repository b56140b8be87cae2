/**
 * The notify Lambda dying in the middle of a batch: it has already sent some webhooks when it
 * crashes, so the event source never acknowledges the batch and the whole batch comes back after
 * the visibility timeout. Receivers see the webhooks they already have again, with the same
 * webhook-id, and de-duplicate them; every job's webhook arrives.
 */
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '#local/stack';
import type { SqsLambdaHandler } from '#local/sqs-event-source';
import { readPhoto } from '#harness/images';
import { auditRun, uploadAll, waitForWebhooks, waitUntil } from '#harness/pipeline';

const PHOTOS = 6;
const CRASHES = 2;

/** Handles the first half of each of the first `crashes` batches, then dies (as a crashed Lambda). */
function crashingMidBatch(crashes: number) {
  const seen = { crashes: 0, redelivered: new Set<string>(), crashedMessages: new Set<string>() };
  const wrap = (handler: SqsLambdaHandler): SqsLambdaHandler =>
    async (event, context) => {
      for (const r of event.Records) if (seen.crashedMessages.has(r.messageId)) seen.redelivered.add(r.messageId);
      if (seen.crashes >= crashes) return handler(event, context);
      seen.crashes++;
      for (const r of event.Records) seen.crashedMessages.add(r.messageId);
      const half: SQSEvent = { Records: event.Records.slice(0, Math.ceil(event.Records.length / 2)) };
      await handler(half, context); // these webhooks go out...
      throw new Error('notify crashed mid-batch (injected)'); // ...and the batch is never acknowledged
    };
  return { wrap, seen };
}

let stack: LocalStack;
const crash = crashingMidBatch(CRASHES);

beforeAll(async () => {
  stack = await startLocalStack({ batchSize: 2, threads: 2, provider: 'cpu', visibilitySeconds: 3, pollMs: 100, wrapNotify: crash.wrap });
}, 60_000);
afterAll(() => stack?.stop(), 60_000);

describe('notify crashing mid-batch', () => {
  it('re-sends the crashed batch with the same webhook-ids; every job gets its webhook once after de-dup', async () => {
    // Arrange
    const uploads = await Promise.all(
      Array.from({ length: PHOTOS }, async (_, i) => ({ key: `incoming/notify-crash/${i}.jpg`, bytes: await readPhoto(20 + i) })),
    );
    const keys = uploads.map((u) => u.key);

    // Act
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    await waitForWebhooks(stack.receiver, keys, 75_000);
    await waitUntil(
      () => crash.seen.redelivered.size === crash.seen.crashedMessages.size && stack.receiver.duplicates >= CRASHES,
      30_000,
      'every crashed message back, and the webhooks sent before each crash sent again',
    );

    // Assert: it crashed, the crashed batches came back...
    expect(crash.seen.crashes).toBe(CRASHES);
    expect(crash.seen.redelivered).toEqual(crash.seen.crashedMessages);
    // ...and what the crashed handler had already sent was sent again under the same webhook-id
    // (the receiver de-duplicates by webhook-id: a different id would show up as a second delivery).
    expect(stack.receiver.duplicates).toBeGreaterThanOrEqual(CRASHES);
    expect(stack.receiver.deliveries).toHaveLength(PHOTOS);
    const audit = await auditRun(stack, keys);
    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.webhookProblems).toEqual([]);
  }, 90_000);
});

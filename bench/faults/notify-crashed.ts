/** notify throws after sending half of each of its first three batches: the rest is re-sent, each webhook once. */
import type { SQSEvent } from 'aws-lambda';
import type { SqsLambdaHandler } from '#local/sqs-event-source';
import { startLocalStack } from '#local/stack';
import { uploadAll, waitUntil } from '#harness/pipeline';
import { photos, row, settle, type FaultBench, type ScenarioRow } from './scenario.ts';

export async function notifyCrashed(bench: FaultBench): Promise<ScenarioRow> {
  const started = performance.now();
  let crashes = 0;
  const wrapNotify = (handler: SqsLambdaHandler): SqsLambdaHandler => async (event, context) => {
    if (crashes >= 3) return handler(event, context);
    crashes++;
    const half: SQSEvent = { Records: event.Records.slice(0, Math.ceil(event.Records.length / 2)) };
    await handler(half, context);
    throw new Error('notify crashed mid-batch (injected)');
  };
  const stack = await startLocalStack({ ...bench.stackDefaults, visibilitySeconds: 3, wrapNotify });
  try {
    const uploads = await photos('notify-crash', 8, 20);
    const keys = uploads.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    const audit = await settle(bench, stack, keys, 120_000);
    await waitUntil(() => stack.receiver.duplicates >= crashes, 30_000, 'the crashed batches re-sent').catch(() => undefined);
    return row('notify dies mid-batch', `${crashes} crashes after sending half a batch`, keys, { ...audit, webhookRedeliveries: stack.receiver.duplicates }, started);
  } finally {
    await stack.stop();
  }
}

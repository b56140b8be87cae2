/**
 * End to end with real SDK clients against the fauxqs emulator (SQS + S3): events queue ->
 * sqs-event-source (as Lambda's event source mapping) -> notify handler (wired from env, as in
 * Lambda) -> signed webhooks -> local receiver. Covers retries through the queue, Retry-After,
 * 410 and the DLQ.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { ENV } from '#core/config';
import type { JobEvent } from '#core/types';
import { startSqsEventSource, type SqsEventSource } from '#local/sqs-event-source';
import { startWebhookReceiver, type WebhookReceiver } from '#local/webhook-receiver';
import type { JobEventData } from '#notify/deliver';
import { createNotifyHandler, notifyDepsFromEnv } from '#notify/handler';
import type { WebhookPayload } from '#notify/signing';
import { jobEvent } from '#test/events';
import { captureLogs, type CapturedLogs } from '#test/logs';

const BUCKET = 'greenscreen-uploads';
const MAX_RECEIVES = 3;
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

let server: FauxqsServer;
let sqs: SQSClient;
let s3: S3Client;
let n = 0;

let queueUrl: string;
let dlqUrl: string;
let receiver: WebhookReceiver;
let source: SqsEventSource;
let logs: CapturedLogs;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  const conn = { region: 'us-east-1', endpoint: server.address };
  sqs = createSqsClient(conn);
  s3 = createS3Client(conn);
  server.createBucket(BUCKET);
});

afterAll(async () => {
  sqs.destroy();
  s3.destroy();
  await server.stop();
});

/**
 * A fresh events queue + DLQ, receiver and event source per test. The receiver knows only the NEW
 * secret while the subscription signs with old and new (a rotation in progress).
 */
async function pipeline(script: Parameters<typeof startWebhookReceiver>[0]['script'] = []) {
  const name = `greenscreen-events-${++n}`;
  const dlq = server.createQueue(`${name}-dlq`);
  const queue = server.createQueue(name, {
    attributes: {
      VisibilityTimeout: '30',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: String(MAX_RECEIVES) }),
    },
  });
  queueUrl = queue.queueUrl;
  dlqUrl = dlq.queueUrl;

  const oldSecret = newSecret();
  const currentSecret = newSecret();
  receiver = await startWebhookReceiver({ secret: currentSecret, script });
  const env = {
    [ENV.endpoint]: server.address,
    [ENV.region]: 'us-east-1',
    [ENV.subscriptions]: JSON.stringify([
      { prefix: 'incoming/', url: `${receiver.url}?token=do-not-log`, secrets: [oldSecret, currentSecret] },
    ]),
    [ENV.allowHttpWebhooks]: 'true',
    [ENV.allowLoopbackWebhooks]: 'true',
    [ENV.presignSeconds]: '300',
    [ENV.webhookTimeoutMs]: '500',
    // Emulators match queue URLs exactly, so local mode names the queue (AWS could derive it from the ARN).
    [ENV.eventsQueueUrl]: queueUrl,
  };
  // Jitter 0: retries without Retry-After come back at once, keeping the test fast.
  const handler = createNotifyHandler(() => ({ ...notifyDepsFromEnv(env, logs.logger), random: () => 0 }));
  source = startSqsEventSource({ sqs, queueUrl, handler, waitTimeSeconds: 1, region: 'us-east-1' });
  return { oldSecret, currentSecret };
}

async function send(event: JobEvent): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));
}

async function depth(url: string): Promise<number> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = res.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeEach(() => {
  logs = captureLogs('notify-integration');
});

afterEach(async () => {
  await source.stop();
  await receiver.close();
  logs.restore();
});

describe('notify end to end (fauxqs + event source + handler + receiver)', () => {
  it('delivers succeeded and failed events, signed, with working presigned URLs, and empties the queue', async () => {
    await pipeline();
    const succeeded = jobEvent({ eventId: 'evt_ok', result: { jobId: 'job-ok' } });
    const failed = jobEvent({ eventId: 'evt_failed', result: { jobId: 'job-failed', status: 'failed' } });
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: succeeded.result.outputs.result, Body: '{"status":"succeeded"}' }),
    );

    await send(succeeded);
    await send(failed);
    const deliveries = await receiver.waitFor(2, 10_000);

    const byId = new Map(deliveries.map((d) => [d.webhookId, d.payload as WebhookPayload<JobEventData>]));
    expect(byId.get('evt_ok')).toMatchObject({ type: 'job.succeeded', data: { jobId: 'job-ok', status: 'succeeded' } });
    expect(byId.get('evt_failed')).toMatchObject({
      type: 'job.failed',
      data: { jobId: 'job-failed', status: 'failed', error: { code: 'INVALID_IMAGE' } },
    });
    expect(Object.keys(byId.get('evt_failed')!.data.urls)).toEqual(['result']);

    const resultUrl = byId.get('evt_ok')!.data.urls.result;
    expect(resultUrl).toMatch(/X-Amz-Signature=/);
    const download = await fetch(resultUrl);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('{"status":"succeeded"}');

    await eventually(async () => (await depth(queueUrl)) === 0);
    expect(receiver.rejected).toBe(0);
  });

  it('retries a 500 and a 429 through the queue, honouring Retry-After, then delivers once', async () => {
    await pipeline([{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }]);
    await send(jobEvent({ eventId: 'evt_retry' }));

    const [delivery] = await receiver.waitFor(1, 15_000);
    expect(delivery!.webhookId).toBe('evt_retry');
    expect(receiver.responses.map((r) => r.status)).toEqual([500, 429, 200]);

    // The 429 asked for 1 s: the message stayed invisible that long (ChangeMessageVisibility).
    const at429 = Date.parse(receiver.responses[1]!.at);
    const at200 = Date.parse(receiver.responses[2]!.at);
    expect(at200 - at429).toBeGreaterThanOrEqual(950);

    await eventually(async () => (await depth(queueUrl)) === 0);
    expect(await depth(dlqUrl)).toBe(0);
    expect(logs.entries).toContainEqual(
      expect.objectContaining({ message: 'Job event will be retried', webhookId: 'evt_retry', retryInSeconds: 1 }),
    );
  });

  it('gives up on an endpoint that answers 410 without retrying', async () => {
    await pipeline([{ status: 410 }]);
    await send(jobEvent({ eventId: 'evt_gone' }));

    await eventually(() => receiver.requests === 1);
    await eventually(async () => (await depth(queueUrl)) === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toBe(1);
    expect(logs.entries).toContainEqual(expect.objectContaining({ code: 'WEBHOOK_GONE', jobId: 'job-0001' }));
  });

  it('retries a hanging endpoint after the timeout and moves a message that never succeeds to the DLQ', async () => {
    await pipeline([{ hang: true }, { status: 500 }, { status: 503 }, { status: 502 }]);
    await send(jobEvent({ eventId: 'evt_doomed' }));

    await eventually(async () => (await depth(dlqUrl)) === 1, 15_000);
    expect(receiver.responses.map((r) => r.status)).toEqual(['hang', 500, 503]);
    expect(receiver.deliveries).toEqual([]);
    expect(await depth(queueUrl)).toBe(0);
  });

  it('never logs the webhook URL query, presigned URLs or secrets', async () => {
    const { oldSecret, currentSecret } = await pipeline([{ status: 500 }]);
    await send(jobEvent({ eventId: 'evt_logs' }));
    await receiver.waitFor(1, 10_000);

    const text = logs.text();
    expect(logs.entries.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/do-not-log|X-Amz-|\?/);
    for (const s of [oldSecret, currentSecret]) expect(text).not.toContain(s.slice('whsec_'.length));
  });
});

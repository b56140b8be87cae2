import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand, SQSClient, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queueArnFromUrl, startSqsEventSource, type SqsEventSource, type SqsLambdaHandler } from '#local/sqs-event-source';

let server: FauxqsServer;
let sqs: SQSClient;
let queueUrl: string;
let source: SqsEventSource | undefined;
let n = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: server.address,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  sqs.destroy();
  await server.stop();
});
afterEach(async () => {
  await source?.stop();
  source = undefined;
});

/** A fresh queue per test; a short visibility timeout so failed messages come back quickly. */
function newQueue(visibilityTimeout = '1') {
  const q = server.createQueue(`event-source-test-${++n}`, { attributes: { VisibilityTimeout: visibilityTimeout } });
  queueUrl = q.queueUrl;
  return q;
}

async function countMessages(): Promise<{ visible: number; inFlight: number }> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function run(handler: SqsLambdaHandler, options: { batchSize?: number } = {}) {
  source = startSqsEventSource({ sqs, queueUrl, handler, waitTimeSeconds: 1, region: 'us-east-1', ...options });
  return source;
}

describe('sqs event source', () => {
  it('hands the handler records in the Lambda SQS shape', async () => {
    const q = newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          tenant: { DataType: 'String', StringValue: 'customer-a' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const events: SQSEvent[] = [];
    run(async (event) => {
      events.push(event);
    });
    await eventually(() => events.length === 1);

    expect(events[0]!.Records).toEqual([
      {
        messageId: expect.any(String),
        receiptHandle: expect.any(String),
        body: '{"hello":"world"}',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: expect.stringMatching(/^\d+$/),
          SenderId: expect.any(String),
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
        },
        messageAttributes: {
          tenant: { dataType: 'String', stringValue: 'customer-a', stringListValues: [], binaryListValues: [] },
          blob: { dataType: 'Binary', binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [] },
        },
        md5OfBody: createHash('md5').update('{"hello":"world"}').digest('hex'),
        md5OfMessageAttributes: expect.any(String),
        eventSource: 'aws:sqs',
        eventSourceARN: q.queueArn,
        awsRegion: 'us-east-1',
      },
    ]);
  });

  it('deletes the records that succeeded and leaves batchItemFailures for redelivery', async () => {
    newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['ok-1', 'fail', 'ok-2'].map((body, i) => ({ Id: `m${i}`, MessageBody: body })),
      }),
    );
    const seen: { body: string; receiveCount: string }[] = [];
    run(async (event): Promise<SQSBatchResponse> => {
      seen.push(...event.Records.map((r) => ({ body: r.body, receiveCount: r.attributes.ApproximateReceiveCount })));
      const failFirstTime = event.Records.filter((r) => r.body === 'fail' && r.attributes.ApproximateReceiveCount === '1');
      return { batchItemFailures: failFirstTime.map((r) => ({ itemIdentifier: r.messageId })) };
    });

    await eventually(() => seen.some((s) => s.body === 'fail' && s.receiveCount === '2'));
    await eventually(async () => (await countMessages()).visible + (await countMessages()).inFlight === 0);
    expect(seen.map((s) => s.body).sort()).toEqual(['fail', 'fail', 'ok-1', 'ok-2']);
  });

  it('deletes nothing when the handler throws', async () => {
    newQueue('30');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'boom' }));
    let calls = 0;
    run(async () => {
      calls++;
      throw new Error('handler crashed');
    });
    await eventually(() => calls === 1);
    await source!.stop();

    expect(await countMessages()).toEqual({ visible: 0, inFlight: 1 });
  });

  it('deletes nothing when the handler names a message that is not in the batch', async () => {
    newQueue('30');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
    let calls = 0;
    run(async () => {
      calls++;
      return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
    });
    await eventually(() => calls === 1);
    await source!.stop();

    expect(await countMessages()).toEqual({ visible: 0, inFlight: 1 });
  });

  it('respects the batch size', async () => {
    newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `b${i}` })),
      }),
    );
    const sizes: number[] = [];
    run(
      async (event) => {
        sizes.push(event.Records.length);
      },
      { batchSize: 2 },
    );
    await eventually(() => sizes.reduce((a, b) => a + b, 0) === 5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });

  it('stop() resolves only after the batch in flight has been handled and deleted', async () => {
    newQueue('30');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'slow' }));
    let started = false;
    let finished = false;
    run(async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 300));
      finished = true;
    });
    await eventually(() => started);
    await source!.stop();

    expect(finished).toBe(true);
    expect(await countMessages()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('stops promptly while long-polling an empty queue, also through an AbortSignal', async () => {
    newQueue();
    const abort = new AbortController();
    source = startSqsEventSource({ sqs, queueUrl, handler: async () => undefined, waitTimeSeconds: 20, signal: abort.signal });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    abort.abort();
    await source.done;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(source.batches).toBe(0);
  });
});

describe('queueArnFromUrl', () => {
  it.each([
    ['https://sqs.eu-west-1.amazonaws.com/123456789012/jobs', 'eu-west-1', 'arn:aws:sqs:eu-west-1:123456789012:jobs'],
    ['http://127.0.0.1:4566/000000000000/greenscreen-events', 'us-east-1', 'arn:aws:sqs:us-east-1:000000000000:greenscreen-events'],
    ['http://localhost:9324/queue/events', 'us-east-1', 'arn:aws:sqs:us-east-1:000000000000:events'],
  ])('%s -> %s', (url, region, arn) => {
    expect(queueArnFromUrl(url, region)).toBe(arn);
  });
});

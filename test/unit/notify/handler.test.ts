import { randomBytes } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, QueueError } from '#core/errors';
import type { Clock } from '#core/ports';
import type { JobEvent } from '#core/types';
import type { HttpClient, HttpResponse } from '#notify/http-client';
import {
  BACKOFF_CAP_SECONDS,
  MAX_VISIBILITY_SECONDS,
  backoffSeconds,
  createNotifyHandler,
  notifyDepsFromEnv,
  queueUrlFromArn,
  type NotifyDeps,
} from '#notify/handler';
import { staticSubscriptions } from '#notify/subscriptions';
import { createUrlGuard } from '#notify/url-guard';
import { jobEvent, sqsEvent, sqsRecord } from '#test/events';
import { InMemoryObjectStore } from '#test/fakes';
import { captureLogs, type CapturedLogs } from '#test/logs';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

type Answer = (Partial<HttpResponse> & { status: number }) | Error;

/** Answers by the job id in the payload. */
function httpByJob(answers: Record<string, Answer>): HttpClient {
  return {
    async post(_target, body) {
      const jobId = (JSON.parse(body) as { data: { jobId: string } }).data.jobId;
      const answer = answers[jobId] ?? { status: 200 };
      if (answer instanceof Error) throw answer;
      return { headers: {}, body: Buffer.alloc(0), truncated: false, ...answer };
    },
  };
}

let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs('notify-handler-test');
});
afterEach(() => logs.restore());

function setup(answers: Record<string, Answer> = {}, options: { releaseFails?: boolean } = {}) {
  const released: { receiptHandle: string; delaySeconds: number; queue: string }[] = [];
  const clock: Clock = { now: () => new Date() };
  const deps: NotifyDeps = {
    deliver: {
      subscriptions: staticSubscriptions([{ prefix: 'incoming/', url: 'https://hooks.example.com/in', secrets: [secret] }]),
      objectStore: new InMemoryObjectStore(),
      urlGuard: createUrlGuard({ resolve: async () => [{ address: '93.184.215.14', family: 4 }] }),
      http: httpByJob(answers),
      clock,
      presignSeconds: 600,
      logger: logs.logger,
    },
    queueFor: (record: SQSRecord) => ({
      async release(receiptHandle: string, delaySeconds: number) {
        if (options.releaseFails) throw new QueueError('SQS ChangeMessageVisibility failed: throttled');
        released.push({ receiptHandle, delaySeconds, queue: record.eventSourceARN });
      },
    }),
    logger: logs.logger,
    clock,
    random: () => 0.5,
  };
  return { deps, released };
}

const eventFor = (jobId: string): JobEvent => jobEvent({ eventId: `evt_${jobId}`, result: { jobId } });

describe('notify handler', () => {
  it('reports only the retryable failures in batchItemFailures and delays them through the queue', async () => {
    const { deps, released } = setup({
      'job-500': { status: 500 },
      'job-429': { status: 429, headers: { 'retry-after': '120' } },
      'job-410': { status: 410 },
      'job-400': { status: 400 },
    });
    const ok = sqsRecord(eventFor('job-ok'));
    const e500 = sqsRecord(eventFor('job-500'), { attributes: { ApproximateReceiveCount: '3' } });
    const e429 = sqsRecord(eventFor('job-429'));
    const e410 = sqsRecord(eventFor('job-410'));
    const e400 = sqsRecord(eventFor('job-400'));

    const response = await createNotifyHandler(deps)(sqsEvent([ok, e500, e429, e410, e400]));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: e500.messageId }, { itemIdentifier: e429.messageId }]);
    expect(released).toEqual([
      // receive count 3: full jitter in [0, 2 * 2^2] = [0, 8]; random 0.5 -> 4
      { receiptHandle: e500.receiptHandle, delaySeconds: 4, queue: e500.eventSourceARN },
      { receiptHandle: e429.receiptHandle, delaySeconds: 120, queue: e429.eventSourceARN },
    ]);
  });

  it('returns an empty batchItemFailures when everything is delivered', async () => {
    const { deps, released } = setup();
    const response = await createNotifyHandler(deps)(sqsEvent([sqsRecord(eventFor('a')), sqsRecord(eventFor('b'))]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(released).toEqual([]);
  });

  it('caps a huge Retry-After at the SQS visibility limit', async () => {
    const { deps, released } = setup({ 'job-1': { status: 503, headers: { 'retry-after': String(7 * 24 * 3600) } } });
    await createNotifyHandler(deps)(sqsEvent([sqsRecord(eventFor('job-1'))]));
    expect(released[0]!.delaySeconds).toBe(MAX_VISIBILITY_SECONDS);
  });

  it('retries a timed-out delivery with backoff', async () => {
    const { DeliveryError } = await import('#core/errors');
    const { deps, released } = setup({ 'job-1': new DeliveryError('Expected a response within 10000 ms but none arrived') });
    const record = sqsRecord(eventFor('job-1'), { attributes: { ApproximateReceiveCount: '20' } });
    const response = await createNotifyHandler(deps)(sqsEvent([record]));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(released[0]!.delaySeconds).toBe(Math.floor(0.5 * (BACKOFF_CAP_SECONDS + 1)));
  });

  it('sends a malformed message back at once (to reach the DLQ) and logs why', async () => {
    const { deps, released } = setup();
    const record = sqsRecord('{"not":"an event"}');
    const response = await createNotifyHandler(deps)(sqsEvent([record]));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(released).toEqual([expect.objectContaining({ delaySeconds: 0 })]);
    expect(logs.entries).toContainEqual(
      expect.objectContaining({ level: 'ERROR', code: 'INVALID_EVENT', messageId: record.messageId }),
    );
  });

  it('still reports the failure when the retry delay cannot be set', async () => {
    const { deps } = setup({ 'job-1': { status: 500 } }, { releaseFails: true });
    const record = sqsRecord(eventFor('job-1'));
    const response = await createNotifyHandler(deps)(sqsEvent([record]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(logs.entries).toContainEqual(expect.objectContaining({ message: 'Could not set the retry delay' }));
  });

  it('retries every record when the subscriptions cannot be loaded', async () => {
    const { deps } = setup();
    deps.deliver.subscriptions = {
      list: async () => {
        throw new ConfigError('Could not read the subscriptions secret arn:x: ThrottlingException', { retryable: true });
      },
    };
    const records = [sqsRecord(eventFor('a')), sqsRecord(eventFor('b'))];
    const response = await createNotifyHandler(deps)(sqsEvent(records));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((r) => r.messageId));
  });

  it('builds its dependencies once, on the first invocation, and again after a failed start', async () => {
    const { deps } = setup();
    const factory = vi
      .fn<() => NotifyDeps>()
      .mockImplementationOnce(() => {
        throw new ConfigError('Invalid configuration: GREENSCREEN_SUBSCRIPTIONS: Required');
      })
      .mockImplementation(() => deps);
    const handler = createNotifyHandler(factory);
    expect(factory).not.toHaveBeenCalled();

    await expect(handler(sqsEvent([sqsRecord(eventFor('a'))]))).rejects.toThrow('Invalid configuration');
    await handler(sqsEvent([sqsRecord(eventFor('a'))]));
    await handler(sqsEvent([sqsRecord(eventFor('b'))]));
    expect(factory).toHaveBeenCalledTimes(2);
  });

  it('logs the job but never the presigned URLs, webhook URL query or secret', async () => {
    const { deps } = setup({ 'job-500': { status: 500 } });
    deps.deliver.subscriptions = staticSubscriptions([
      { prefix: '', url: 'https://hooks.example.com/in?api_key=k3y', secrets: [secret] },
    ]);
    await createNotifyHandler(deps)(sqsEvent([sqsRecord(eventFor('job-ok')), sqsRecord(eventFor('job-500'))]));

    expect(logs.entries).toContainEqual(
      expect.objectContaining({ message: 'Job event handled', jobId: 'job-ok', stage: 'notify', durationMs: expect.any(Number) }),
    );
    const text = logs.text();
    expect(text).not.toMatch(/X-Amz-|api_key|k3y|\?/);
    expect(text).not.toContain(secret.slice('whsec_'.length));
  });
});

describe('backoffSeconds (full jitter)', () => {
  it.each([
    [1, 2],
    [2, 4],
    [3, 8],
    [5, 32],
    [9, 512],
    [10, BACKOFF_CAP_SECONDS],
    [50, BACKOFF_CAP_SECONDS],
  ])('receive count %i: between 0 and %i seconds', (receiveCount, ceiling) => {
    expect(backoffSeconds(receiveCount, () => 0)).toBe(0);
    expect(backoffSeconds(receiveCount, () => 0.999999)).toBe(ceiling);
  });
});

describe('queueUrlFromArn', () => {
  it.each([
    ['arn:aws:sqs:eu-west-1:123456789012:greenscreen-events', undefined, 'https://sqs.eu-west-1.amazonaws.com/123456789012/greenscreen-events'],
    ['arn:aws-cn:sqs:cn-north-1:123456789012:q', undefined, 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q'],
    ['arn:aws:sqs:us-east-1:000000000000:greenscreen-events', 'http://127.0.0.1:4566/', 'http://127.0.0.1:4566/000000000000/greenscreen-events'],
  ])('%s -> %s', (arn, endpoint, url) => {
    expect(queueUrlFromArn(arn, endpoint)).toBe(url);
  });

  it('refuses something that is not an SQS ARN', () => {
    expect(() => queueUrlFromArn('arn:aws:sns:us-east-1:1:topic')).toThrow(
      'Expected an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>) but received arn:aws:sns:us-east-1:1:topic',
    );
  });
});

describe('notifyDepsFromEnv', () => {
  it('wires the real adapters from the environment', () => {
    const deps = notifyDepsFromEnv(
      {
        GREENSCREEN_SUBSCRIPTIONS: JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: [secret] }]),
        GREENSCREEN_PRESIGN_SECONDS: '300',
        AWS_REGION: 'eu-west-1',
      },
      logs.logger,
    );
    expect(deps.deliver.presignSeconds).toBe(300);
    const queue = deps.queueFor(sqsRecord('{}', { eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:events' }));
    expect(queue).toMatchObject({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events' });
  });

  it('fails with the names of the variables when no subscriptions are configured', () => {
    expect(() => notifyDepsFromEnv({}, logs.logger)).toThrow(
      'Expected GREENSCREEN_SUBSCRIPTIONS (JSON) or GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN to be set but neither is',
    );
  });

  it('names a malformed variable', () => {
    expect(() => notifyDepsFromEnv({ GREENSCREEN_SUBSCRIPTIONS: '[]', GREENSCREEN_WEBHOOK_TIMEOUT_MS: 'soon' }, logs.logger)).toThrow(
      /^Invalid configuration: GREENSCREEN_WEBHOOK_TIMEOUT_MS: /,
    );
  });
});

import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '#core/errors';
import type { Clock } from '#core/ports';
import { deliverJobEvent, parseRetryAfter, type DeliverDeps, type JobEventData } from '#notify/deliver';
import type { HttpClient, HttpResponse } from '#notify/http-client';
import type { WebhookPayload } from '#notify/signing';
import { staticSubscriptions, type Subscription } from '#notify/subscriptions';
import { createUrlGuard, type PinnedTarget } from '#notify/url-guard';
import { jobEvent } from '#test/events';
import { InMemoryObjectStore } from '#test/fakes';
import { captureLogs, type CapturedLogs } from '#test/logs';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

interface Sent {
  target: PinnedTarget;
  body: string;
  headers: Record<string, string>;
}

type Answer = Partial<HttpResponse> & { status: number } | Error;

/** An HttpClient that answers per host from a script and records what was sent. */
function scriptedHttp(answers: Record<string, Answer>) {
  const sent: Sent[] = [];
  const http: HttpClient = {
    async post(target, body, options) {
      sent.push({ target, body, headers: options.headers });
      const answer = answers[target.hostname] ?? { status: 200 };
      if (answer instanceof Error) throw answer;
      return { headers: {}, body: Buffer.alloc(0), truncated: false, ...answer };
    },
  };
  return { http, sent };
}

const PUBLIC = '93.184.215.14';
const guard = createUrlGuard({ resolve: async () => [{ address: PUBLIC, family: 4 }] });

let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs('notify-test');
});
afterEach(() => logs.restore());

function setup(subscriptions: Subscription[], answers: Record<string, Answer> = {}) {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock: Clock = { now: () => now };
  const objectStore = new InMemoryObjectStore();
  const { http, sent } = scriptedHttp(answers);
  const deps: DeliverDeps = {
    subscriptions: staticSubscriptions(subscriptions),
    objectStore,
    urlGuard: guard,
    http,
    clock,
    presignSeconds: 900,
    logger: logs.logger,
  };
  return { deps, sent, objectStore, now };
}

const sub = (url: string, prefix = 'incoming/', secrets = [secret()]): Subscription => ({ prefix, url, secrets });

describe('deliverJobEvent', () => {
  it('sends a signed job.succeeded webhook with presigned URLs for every output', async () => {
    const subscription = sub('https://hooks.example.com/greenscreen?token=abc');
    const { deps, sent, objectStore, now } = setup([subscription]);
    const event = jobEvent({ eventId: 'evt_42', result: { reprocess: { runId: 'run-7' } } });

    const report = await deliverJobEvent(event, deps);

    expect(report.outcomes).toEqual([
      { kind: 'delivered', endpoint: 'https://hooks.example.com', status: 200, durationMs: 0 },
    ]);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request!.target).toMatchObject({ hostname: 'hooks.example.com', address: PUBLIC });
    expect(request!.target.url.search).toBe('?token=abc');
    expect(request!.headers).toMatchObject({
      'webhook-id': 'evt_42',
      'webhook-timestamp': String(now.getTime() / 1000),
      'content-type': 'application/json',
      'user-agent': 'greenscreen-webhooks/1',
    });
    const payload = new Webhook(subscription.secrets[0]!).verify(request!.body, request!.headers) as WebhookPayload<JobEventData>;
    const r = event.result;
    expect(payload).toEqual({
      type: 'job.succeeded',
      timestamp: r.finishedAt,
      data: {
        jobId: r.jobId,
        status: 'succeeded',
        source: { bucket: r.source.bucket, key: r.source.key, etag: r.source.etag },
        outputs: r.outputs,
        urls: {
          mask: expect.stringMatching(/^https:\/\/greenscreen-uploads\.s3\..*\/mask\.png\?X-Amz-/),
          cutout: expect.stringMatching(/\/cutout\.png\?X-Amz-/),
          result: expect.stringMatching(/\/result\.json\?X-Amz-/),
        },
        urlsExpireAt: new Date(now.getTime() + 900_000).toISOString(),
        width: 1200,
        height: 1600,
        model: { name: 'tiramisu', version: '1.0.0' },
        reprocess: { runId: 'run-7' },
        finishedAt: r.finishedAt,
      },
    });
    expect(objectStore.presigned).toEqual([
      { bucket: r.source.bucket, key: r.outputs.mask, expiresInSeconds: 900 },
      { bucket: r.source.bucket, key: r.outputs.cutout, expiresInSeconds: 900 },
      { bucket: r.source.bucket, key: r.outputs.result, expiresInSeconds: 900 },
    ]);
  });

  it('sends a job.failed webhook with the error and only the result URL', async () => {
    const subscription = sub('https://hooks.example.com/in');
    const { deps, sent } = setup([subscription]);
    const event = jobEvent({ result: { status: 'failed' } });

    await deliverJobEvent(event, deps);

    const payload = JSON.parse(sent[0]!.body) as WebhookPayload<JobEventData>;
    expect(payload.type).toBe('job.failed');
    expect(payload.data.error).toEqual({
      code: 'INVALID_IMAGE',
      message: 'Expected a decodable image but received 12 bytes of text',
    });
    expect(payload.data.outputs).toEqual({ result: event.result.outputs.result });
    expect(Object.keys(payload.data.urls)).toEqual(['result']);
  });

  it('delivers to every matching subscription and to nothing else', async () => {
    const { deps, sent } = setup([
      sub('https://all.example.com/in', ''),
      sub('https://a.example.com/in', 'incoming/customer-a/'),
      sub('https://b.example.com/in', 'incoming/customer-b/'),
    ]);
    const report = await deliverJobEvent(jobEvent(), deps);

    expect(sent.map((s) => s.target.hostname).sort()).toEqual(['a.example.com', 'all.example.com']);
    expect(report.outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
  });

  it('does nothing (and presigns nothing) when no subscription matches', async () => {
    const { deps, sent, objectStore } = setup([sub('https://b.example.com/in', 'incoming/customer-b/')]);
    const report = await deliverJobEvent(jobEvent(), deps);

    expect(report.outcomes).toEqual([]);
    expect(sent).toEqual([]);
    expect(objectStore.presigned).toEqual([]);
  });

  describe('outcomes by response', () => {
    it.each([
      [200, 'delivered'],
      [201, 'delivered'],
      [204, 'delivered'],
    ])('%i -> %s', async (status, kind) => {
      const { deps } = setup([sub('https://hooks.example.com/in')], { 'hooks.example.com': { status } });
      const report = await deliverJobEvent(jobEvent(), deps);
      expect(report.outcomes[0]!.kind).toBe(kind);
    });

    it('410 Gone: not retried; logged as WEBHOOK_GONE so the subscription gets disabled', async () => {
      const { deps } = setup([sub('https://hooks.example.com/in')], { 'hooks.example.com': { status: 410 } });
      const report = await deliverJobEvent(jobEvent(), deps);

      expect(report.outcomes[0]).toMatchObject({ kind: 'gone', status: 410 });
      expect(logs.entries).toContainEqual(
        expect.objectContaining({ level: 'WARN', code: 'WEBHOOK_GONE', endpoint: 'https://hooks.example.com', status: 410 }),
      );
    });

    it.each([
      [302, 'Expected a 2xx response from https://hooks.example.com but received 302: redirects are not followed'],
      [301, 'Expected a 2xx response from https://hooks.example.com but received 301: redirects are not followed'],
      [400, 'Expected a 2xx response from https://hooks.example.com but received 400'],
      [401, 'Expected a 2xx response from https://hooks.example.com but received 401'],
      [404, 'Expected a 2xx response from https://hooks.example.com but received 404'],
    ])('%i: permanent failure, logged, not retried', async (status, message) => {
      const { deps } = setup([sub('https://hooks.example.com/in')], {
        'hooks.example.com': { status, headers: { location: 'http://169.254.169.254/' } },
      });
      const report = await deliverJobEvent(jobEvent(), deps);

      expect(report.outcomes[0]).toMatchObject({ kind: 'rejected', error: { message, retryable: false, status } });
      expect(logs.entries).toContainEqual(expect.objectContaining({ level: 'ERROR', error: message, status }));
    });

    it.each([
      [500, {}, undefined],
      [502, {}, undefined],
      [503, { 'retry-after': '30' }, 30],
      [429, { 'retry-after': '120' }, 120],
      [408, {}, undefined],
    ])('%i: retryable DeliveryError with status and Retry-After', async (status, headers, retryAfterSeconds) => {
      const { deps } = setup([sub('https://hooks.example.com/in')], { 'hooks.example.com': { status, headers } });
      const err = await deliverJobEvent(jobEvent(), deps).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ retryable: true, status, retryAfterSeconds });
      expect((err as Error).message).toBe(
        `Expected 1 webhook deliveries for job job-0001 to succeed but 1 must be retried: Expected a 2xx response from https://hooks.example.com but received ${status}`,
      );
    });

    it('a timeout or network error is retryable', async () => {
      const timeout = new DeliveryError('Expected a response from https://hooks.example.com/in within 10000 ms but none arrived');
      const { deps } = setup([sub('https://hooks.example.com/in')], { 'hooks.example.com': timeout });
      await expect(deliverJobEvent(jobEvent(), deps)).rejects.toMatchObject({ retryable: true, cause: timeout });
    });

    it('an unsafe URL is a permanent failure, logged, and never called', async () => {
      const { deps, sent } = setup([sub('https://10.0.0.5/in')]);
      const report = await deliverJobEvent(jobEvent(), deps);

      expect(sent).toEqual([]);
      expect(report.outcomes[0]).toMatchObject({
        kind: 'rejected',
        error: { code: 'UNSAFE_URL', message: 'Refusing to call https://10.0.0.5/in : it is 10.0.0.5, a private address' },
      });
      expect(logs.entries).toContainEqual(expect.objectContaining({ level: 'ERROR', code: 'UNSAFE_URL' }));
    });

    it('retries the event when any endpoint must be retried, waiting for the longest Retry-After', async () => {
      const { deps } = setup(
        [sub('https://ok.example.com/in'), sub('https://busy.example.com/in'), sub('https://down.example.com/in')],
        {
          'busy.example.com': { status: 429, headers: { 'retry-after': '60' } },
          'down.example.com': { status: 503, headers: { 'retry-after': '30' } },
        },
      );
      const err = await deliverJobEvent(jobEvent(), deps).catch((e: unknown) => e);
      expect(err).toMatchObject({ retryable: true, retryAfterSeconds: 60 });
      expect((err as Error).message).toMatch(/^Expected 3 webhook deliveries for job job-0001 to succeed but 2 must be retried/);
    });
  });

  it('logs jobId, objectKey, stage, status and duration, but no presigned URLs, query strings or secrets', async () => {
    const secrets = [secret(), secret()];
    const { deps } = setup(
      [sub('https://hooks.example.com/in?token=s3cr3t-token', 'incoming/', secrets), sub('https://down.example.com/x?k=v')],
      { 'down.example.com': { status: 500, body: Buffer.from('stack trace with password=hunter2') } },
    );
    await deliverJobEvent(jobEvent(), deps).catch(() => undefined);

    const text = logs.text();
    expect(logs.entries).toContainEqual(
      expect.objectContaining({
        message: 'Webhook delivered',
        jobId: 'job-0001',
        objectKey: 'incoming/customer-a/portrait.jpg',
        stage: 'notify',
        status: 200,
        durationMs: expect.any(Number),
      }),
    );
    expect(text).not.toMatch(/X-Amz-|token=|s3cr3t|k=v|\?/);
    expect(text).not.toContain('hunter2');
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(s.slice('whsec_'.length));
    }
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  it.each([
    ['120', 120],
    [' 0 ', 0],
    ['Wed, 01 Jan 2025 00:02:00 GMT', 120],
    ['Wed, 01 Jan 2025 00:00:00 GMT', 0],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    [['45', '90'], 45],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as const)('%j -> %s', (value, expected) => {
    expect(parseRetryAfter(value as string | string[] | undefined, now)).toBe(expected);
  });
});

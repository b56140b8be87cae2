/**
 * Webhook safety through the whole local stack (the URL guard's own unit tests are in
 * test/unit/notify): subscriptions aimed at private and metadata addresses never get so much as a
 * TCP connection, an endpoint that fails and recovers gets the webhook later under the same
 * webhook-id, and the logs of every component hold no presigned URL, secret or image bytes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { startLocalStack, type LocalStack } from '#local/stack';
import { startHttpRecorder, type HttpRecorder } from '#harness/http-recorder';
import { readPhoto } from '#harness/images';
import { captureLogs, type CapturedLogs } from '#test/logs';
import { deliveriesByKey, uploadAll, waitForWebhooks, waitUntil } from '#harness/pipeline';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** Where a webhook must never go, however the URL is spelled. */
const UNSAFE = [
  { url: 'http://169.254.169.254/latest/meta-data/', address: '169.254.169.254' },
  { url: 'http://0xa9fea9fe/latest/meta-data/', address: '169.254.169.254' },
  { url: 'http://[fd00:ec2::254]/latest/meta-data/', address: 'fd00:ec2::254' },
  { url: 'http://10.0.0.1/hooks', address: '10.0.0.1' },
  { url: 'http://[::ffff:10.0.0.1]/hooks', address: '::ffff:a00:1' },
  { url: 'http://192.168.1.1/hooks', address: '192.168.1.1' },
];
const PHOTO_KEY = 'incoming/safety/person.jpg';
const TEXT_KEY = 'incoming/safety/not-a-photo.jpg';

let stack: LocalStack;
let flaky: HttpRecorder;
let logs: CapturedLogs;
let connect: MockInstance;
const connections: string[] = [];

beforeAll(async () => {
  logs = captureLogs('local');
  // Every TCP connection this process opens, whoever opens it.
  const original = net.Socket.prototype.connect;
  connect = vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    // (options), (port, host) or, from inside Node, an already normalised [options, callback] array.
    const [first, second] = args;
    const options = Array.isArray(first) ? first[0] : first;
    const host = typeof options === 'object' && options !== null ? (options as net.TcpNetConnectOpts).host : second;
    connections.push(String(host ?? 'localhost'));
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  });
  // Answers 500 twice, then recovers.
  flaky = await startHttpRecorder((n) => (n < 2 ? { status: 500, body: 'temporarily broken' } : { status: 204 }));
  stack = await startLocalStack({
    batchSize: 2,
    threads: 2,
    provider: 'cpu',
    pollMs: 100,
    // A given model version names the jobs; the in-process worker must still start.
    modelVersion: 'safety-v1',
    logger: logs.logger,
    subscriptions: [
      ...UNSAFE.map(({ url }) => ({ prefix: 'incoming/safety/', url, secrets: [SECRET] })),
      { prefix: 'incoming/safety/person', url: `${flaky.origin}/hooks?token=abc123`, secrets: [SECRET] },
    ],
  });
  await uploadAll(stack.store, stack.resources.bucket, [
    { key: PHOTO_KEY, bytes: await readPhoto(200) },
    { key: TEXT_KEY, bytes: Buffer.from('definitely not a JPEG\n') },
  ]);
  await waitForWebhooks(stack.receiver, [PHOTO_KEY, TEXT_KEY], 60_000);
  await waitUntil(() => flaky.requests.some((r) => r.status === 204), 60_000, 'the flaky endpoint to accept the webhook');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await flaky?.close();
  connect?.mockRestore();
  logs?.restore();
}, 60_000);

describe('webhook safety, end to end', () => {
  it('never connects to private, link-local or metadata addresses, however spelled', () => {
    // The spy sees connections (the flaky endpoint and the emulator are on 127.0.0.1)...
    expect(connections).toContain('127.0.0.1');
    // ...and none to where the unsafe subscriptions point.
    for (const { url } of UNSAFE) expect(connections, url).not.toContain(new URL(url).hostname.replace(/^\[|\]$/g, ''));
    expect(connections.filter((h) => h !== '127.0.0.1' && h !== 'localhost')).toEqual([]);
  });

  it('refuses each unsafe subscription permanently, with the reason, and still delivers to the others', () => {
    const refusals = logs.entries.filter((e) => e.code === 'UNSAFE_URL');
    for (const { url, address } of UNSAFE) {
      const origin = new URL(url).origin;
      const mine = refusals.filter((e) => e.endpoint === origin);
      expect(mine.length, url).toBeGreaterThan(0);
      expect(String(mine[0]!.error)).toContain(`it is ${address}`);
      expect(mine.every((e) => e.retryable === false)).toBe(true);
    }
    expect(deliveriesByKey(stack.receiver).get(PHOTO_KEY)).toHaveLength(1);
  });

  it('re-sends to an endpoint that answered 500 until it recovers, under the same webhook-id', () => {
    const statuses = flaky.requests.map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([500, 500, 204]);
    const ids = new Set(flaky.requests.map((r) => r.headers['webhook-id']));
    const delivered = deliveriesByKey(stack.receiver).get(PHOTO_KEY)![0]!;
    expect(ids).toEqual(new Set([delivered.webhookId]));
    // Each attempt is signed afresh (new timestamp) and verifies with the subscription's secret.
    const wh = new Webhook(SECRET);
    for (const r of flaky.requests) expect(() => wh.verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    // The local receiver, which accepted the first time, saw the retried event as a duplicate.
    expect(stack.receiver.duplicates).toBeGreaterThanOrEqual(2);
  });

  it('logs no presigned URL, secret, webhook URL query or image bytes', () => {
    // The payloads do carry presigned URLs (so their absence from the logs means something).
    expect(JSON.stringify(stack.receiver.deliveries)).toContain('X-Amz-Signature=');
    const text = logs.text();
    expect(logs.entries.length).toBeGreaterThan(10);
    for (const forbidden of ['X-Amz-Signature', 'X-Amz-Credential', 'whsec_', SECRET.slice(6), stack.webhookSecret.slice(6), 'token=abc123']) {
      expect(text, forbidden).not.toContain(forbidden);
    }
    // Image bytes, raw or base64 (JPEG, PNG), and no line long enough to hide them.
    for (const magic of ['\xff\xd8\xff', '/9j/', 'iVBORw0KGgo', '\x89PNG']) expect(text, JSON.stringify(magic)).not.toContain(magic);
    expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThan(4000);
  });
});

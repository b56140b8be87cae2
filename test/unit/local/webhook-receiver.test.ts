import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from '#local/webhook-receiver';
import { signWebhook } from '#notify/signing';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const secret = newSecret();

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function start(options: Partial<WebhookReceiverOptions> = {}) {
  receiver = await startWebhookReceiver({ secret, ...options });
  return receiver;
}

function send(url: string, id: string, secrets = [secret], type: 'job.succeeded' | 'job.failed' = 'job.succeeded') {
  const signed = signWebhook(id, { type, timestamp: '2025-01-01T00:00:00.000Z', data: { jobId: id } }, secrets, new Date());
  return fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
}

describe('webhook receiver', () => {
  it('listens on 127.0.0.1 and records a verified delivery', async () => {
    const r = await start();
    const res = await send(r.url, 'evt_1');

    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    expect(res.status).toBe(200);
    expect(r.deliveries).toEqual([
      {
        webhookId: 'evt_1',
        type: 'job.succeeded',
        receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        payload: { type: 'job.succeeded', timestamp: '2025-01-01T00:00:00.000Z', data: { jobId: 'evt_1' } },
        raw: { headers: expect.objectContaining({ 'webhook-id': 'evt_1' }), body: expect.any(String) },
      },
    ]);
  });

  it('records the headers and the raw body exactly as they arrived', async () => {
    // Arrange: a body with whitespace a JSON round trip would not keep, signed as it is sent.
    const r = await start();
    const body = ` {"type": "job.failed", "timestamp": "t", "data": {}}\n`;
    const ts = new Date();
    const headers = {
      'content-type': 'application/json',
      'webhook-id': 'evt_raw',
      'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('evt_raw', ts, body),
      'x-extra': 'kept',
    };
    // Act
    const res = await fetch(r.url, { method: 'POST', headers, body });
    // Assert
    expect(res.status).toBe(200);
    expect(r.deliveries[0]!.raw.body).toBe(body);
    expect(r.deliveries[0]!.raw.headers).toMatchObject(headers);
  });

  it.each([
    ['signed with another secret', () => send(receiver!.url, 'evt_1', [newSecret()]), 'No matching signature found'],
    [
      'tampered body',
      async () => {
        const signed = signWebhook('evt_1', { type: 'job.succeeded', timestamp: 't', data: {} }, [secret], new Date());
        return fetch(receiver!.url, { method: 'POST', headers: signed.headers, body: signed.body.replace('{}', '{"x":1}') });
      },
      'No matching signature found',
    ],
    [
      'no signature headers',
      () => fetch(receiver!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      'Missing required headers',
    ],
    [
      'stale timestamp',
      async () => {
        const signed = signWebhook('evt_1', { type: 'job.succeeded', timestamp: 't', data: {} }, [secret], new Date(Date.now() - 10 * 60_000));
        return fetch(receiver!.url, { method: 'POST', headers: signed.headers, body: signed.body });
      },
      'Message timestamp too old',
    ],
  ])('rejects a request %s with 401', async (_name, request, reason) => {
    await start();
    const res = await request();
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: reason });
    expect(receiver!.deliveries).toEqual([]);
    expect(receiver!.rejected).toBe(1);
  });

  it('accepts a request signed with several secrets when one is its own (rotation)', async () => {
    const r = await start();
    expect((await send(r.url, 'evt_1', [newSecret(), secret])).status).toBe(200);
  });

  it('records a redelivery once and counts it as a duplicate', async () => {
    const r = await start();
    await send(r.url, 'evt_1');
    const again = await send(r.url, 'evt_1');

    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, duplicate: true });
    expect(r.deliveries).toHaveLength(1);
    expect(r.duplicates).toBe(1);
  });

  it('appends accepted deliveries to a JSONL file', async () => {
    const jsonlPath = join(await mkdtemp(join(tmpdir(), 'receiver-')), 'webhooks.jsonl');
    const r = await start({ jsonlPath });
    await send(r.url, 'evt_1');
    await send(r.url, 'evt_2', [secret], 'job.failed');
    await send(r.url, 'evt_1');

    const lines = (await readFile(jsonlPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { webhookId: string; type: string });
    expect(lines.map((l) => [l.webhookId, l.type])).toEqual([
      ['evt_1', 'job.succeeded'],
      ['evt_2', 'job.failed'],
    ]);
    // The signed headers stay in memory: the file is for reading deliveries, not replaying them.
    expect(Object.keys(lines[0]!).sort()).toEqual(['payload', 'receivedAt', 'type', 'webhookId']);
  });

  it('follows its script, then accepts', async () => {
    const r = await start({
      script: [{ status: 500 }, { status: 429, headers: { 'retry-after': '7' } }, { status: 410 }],
    });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await send(r.url, 'evt_1');
      answers.push([res.status, res.headers.get('retry-after')]);
    }
    expect(answers).toEqual([
      [500, null],
      [429, '7'],
      [410, null],
      [200, null],
    ]);
    expect(r.deliveries).toHaveLength(1);
    expect(r.requests).toBe(4);
    expect(r.responses.map((x) => [x.webhookId, x.status])).toEqual([
      ['evt_1', 500],
      ['evt_1', 429],
      ['evt_1', 410],
      ['evt_1', 200],
    ]);
  });

  it('does not spend a scripted answer on a request with a bad signature', async () => {
    const r = await start({ script: [{ status: 500 }] });
    expect((await send(r.url, 'evt_1', [newSecret()])).status).toBe(401);
    expect((await send(r.url, 'evt_1')).status).toBe(500);
  });

  it('can hang until closed', async () => {
    const r = await start();
    r.respondWith({ hang: true });
    const pending = send(r.url, 'evt_1').then(
      () => 'answered',
      () => 'connection closed',
    );
    const first = await Promise.race([pending, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300))]);
    expect(first).toBe('still waiting');
    await r.close();
    receiver = undefined;
    expect(await pending).toBe('connection closed');
  });

  it('waitFor resolves once enough deliveries arrived', async () => {
    const r = await start();
    const waiting = r.waitFor(2, 5000);
    await send(r.url, 'evt_1');
    await send(r.url, 'evt_2');
    expect((await waiting).map((d) => d.webhookId)).toEqual(['evt_1', 'evt_2']);
  });

  it('waitFor says what arrived when it times out', async () => {
    const r = await start();
    await send(r.url, 'evt_1', [newSecret()]);
    await expect(r.waitFor(1, 100)).rejects.toThrow(
      'Expected 1 webhook deliveries within 100 ms but received 0 (1 requests, 1 rejected, 0 duplicates)',
    );
  });

  it('answers 404 elsewhere', async () => {
    const r = await start();
    const res = await fetch(r.url.replace('/webhooks', '/other'), { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });
});

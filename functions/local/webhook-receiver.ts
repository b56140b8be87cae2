import { appendFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { systemClock, type Clock } from '#core/ports';

/**
 * A local webhook endpoint for local mode and tests. Verifies Standard Webhooks signatures with
 * the `standardwebhooks` library (401 when they do not verify), records each accepted delivery
 * once (a redelivery with a known webhook-id is answered 200 and counted in `duplicates`), and can
 * follow a script of misbehaviours (500s, 429 + Retry-After, 410, redirects, hanging) for tests.
 */

export interface ReceivedDelivery {
  webhookId: string;
  type: string;
  receivedAt: string;
  payload: unknown;
  /**
   * The request exactly as it arrived: every header (lower-case names) and the raw body, so a
   * test can verify the signature on what went over the wire. In memory only: not in the JSONL.
   */
  raw: { headers: Record<string, string>; body: string };
}

/** One scripted answer, used for one verified request (in order) before normal acceptance resumes. */
export type ScriptStep =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { hang: true };

/** What the receiver answered to one request (for timing and retry assertions). */
export interface ReceiverResponse {
  webhookId: string | undefined;
  status: number | 'hang';
  at: string;
}

export interface WebhookReceiverOptions {
  /** "whsec_<base64>": the receiver verifies with this one secret (as a real receiver would). */
  secret: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  path?: string;
  /** Append every accepted delivery as one JSON line. */
  jsonlPath?: string;
  script?: ScriptStep[];
  clock?: Clock;
  maxBodyBytes?: number;
}

export interface WebhookReceiver {
  /** Where to send webhooks, e.g. http://127.0.0.1:53122/webhooks */
  readonly url: string;
  /** Accepted deliveries, one per webhook-id, in arrival order. */
  readonly deliveries: readonly ReceivedDelivery[];
  /** Verified requests for a webhook-id already accepted. */
  readonly duplicates: number;
  /** Requests refused with 401 (missing or bad signature). */
  readonly rejected: number;
  /** Every request that arrived, whatever happened to it. */
  readonly requests: number;
  /** The answer given to each request, in order. */
  readonly responses: readonly ReceiverResponse[];
  /** Queue more scripted answers. */
  respondWith(...steps: ScriptStep[]): void;
  /** Resolves with the deliveries once at least `n` have been accepted. */
  waitFor(n: number, timeoutMs: number): Promise<ReceivedDelivery[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const webhook = new Webhook(options.secret);
  const clock = options.clock ?? systemClock;
  const path = options.path ?? '/webhooks';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const script: ScriptStep[] = [...(options.script ?? [])];
  const deliveries: ReceivedDelivery[] = [];
  const responses: ReceiverResponse[] = [];
  const seen = new Set<string>();
  const waiters = new Set<() => void>();
  let duplicates = 0;
  let rejected = 0;
  let requests = 0;

  const reply = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const webhookId = res.req.headers['webhook-id'];
    responses.push({ webhookId: typeof webhookId === 'string' ? webhookId : undefined, status, at: clock.now().toISOString() });
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const accept = async (headers: Record<string, string>, body: string, payload: unknown): Promise<'new' | 'duplicate'> => {
    const webhookId = headers['webhook-id']!;
    if (seen.has(webhookId)) {
      duplicates++;
      return 'duplicate';
    }
    seen.add(webhookId);
    const type = typeof payload === 'object' && payload !== null && 'type' in payload ? String(payload.type) : '';
    const delivery: ReceivedDelivery = { webhookId, type, receivedAt: clock.now().toISOString(), payload, raw: { headers, body } };
    deliveries.push(delivery);
    if (options.jsonlPath) {
      const line: Omit<ReceivedDelivery, 'raw'> = { webhookId, type, receivedAt: delivery.receivedAt, payload };
      await appendFile(options.jsonlPath, `${JSON.stringify(line)}\n`);
    }
    return 'new';
  };

  const server = http.createServer((req, res) => {
    requests++;
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) {
      reply(res, 404, { error: `Expected POST ${path} but received ${req.method} ${req.url}` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      void (async () => {
        if (size > maxBodyBytes) {
          reply(res, 413, { error: `Expected at most ${maxBodyBytes} bytes but received ${size}` });
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        let payload: unknown;
        try {
          payload = webhook.verify(body, headers);
        } catch (err) {
          rejected++;
          const reason = err instanceof WebhookVerificationError ? err.message : 'unverifiable request';
          reply(res, 401, { error: reason });
          return;
        }
        const step = script.shift();
        if (step && 'hang' in step) {
          responses.push({ webhookId: headers['webhook-id'], status: 'hang', at: clock.now().toISOString() });
          return; // never answer; close() ends the connection
        }
        if (step) {
          reply(res, step.status, step.body ?? { scripted: step.status }, step.headers);
          return;
        }
        const outcome = await accept(headers, body, payload);
        reply(res, 200, { ok: true, duplicate: outcome === 'duplicate' });
        // Wake waiters only once the answer is recorded, so they see a consistent `responses`.
        if (outcome === 'new') for (const wake of waiters) wake();
      })().catch((err: unknown) => {
        if (!res.headersSent) reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  // Listening on every address (--host 0.0.0.0): deliveries still go to loopback.
  const reachable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const host = address.family === 'IPv6' ? `[${reachable}]` : reachable;

  return {
    url: `http://${host}:${address.port}${path}`,
    get deliveries() {
      return deliveries;
    },
    get duplicates() {
      return duplicates;
    },
    get rejected() {
      return rejected;
    },
    get requests() {
      return requests;
    },
    get responses() {
      return responses;
    },
    respondWith(...steps) {
      script.push(...steps);
    },
    waitFor(n, timeoutMs) {
      if (deliveries.length >= n) return Promise.resolve([...deliveries]);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (deliveries.length < n) return;
          cleanup();
          resolve([...deliveries]);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `Expected ${n} webhook deliveries within ${timeoutMs} ms but received ${deliveries.length} ` +
                `(${requests} requests, ${rejected} rejected, ${duplicates} duplicates)`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

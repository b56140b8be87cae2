import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryError } from '#core/errors';
import { createHttpClient, pinnedLookup } from '#notify/http-client';
import { createUrlGuard, type PinnedTarget } from '#notify/url-guard';

const TLS_DIR = new URL('../../fixtures/tls/', import.meta.url);
const cert = readFileSync(new URL('hooks.example.test.crt', TLS_DIR));
const key = readFileSync(new URL('hooks.example.test.key', TLS_DIR));

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  servername?: string | false | null;
}

const servers: (http.Server | https.Server)[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

/** A local server that records requests and answers with `respond`. */
async function serve(
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: { host?: string; port?: number; tls?: boolean } = {},
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        ...(options.tls ? { servername: (req.socket as TLSSocket).servername } : {}),
      });
      respond(req, res);
    });
  };
  const server = options.tls ? https.createServer({ cert, key }, listener) : http.createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** A target as the guard would produce it: `hostname` in the URL, connection to `address`. */
function target(url: string, address = '127.0.0.1'): PinnedTarget {
  const u = new URL(url);
  return { url: u, hostname: u.hostname, address, family: 4 };
}

const headers = { 'content-type': 'application/json', 'webhook-id': 'evt_1' };

describe('http client', () => {
  it('POSTs the body and headers, with Host = the URL host, to the pinned address', async () => {
    const { port, seen } = await serve((_req, res) => res.writeHead(204).end());
    // .invalid never resolves in DNS: reaching the server proves the pinned address was used.
    const res = await createHttpClient().post(target(`http://hooks.example.invalid:${port}/in?a=1`), '{"x":1}', {
      headers,
    });

    expect(res.status).toBe(204);
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/in?a=1',
        body: '{"x":1}',
        headers: expect.objectContaining({
          host: `hooks.example.invalid:${port}`,
          'content-type': 'application/json',
          'webhook-id': 'evt_1',
          'content-length': '7',
        }),
      }),
    ]);
  });

  it('over https, uses the URL host for SNI and the certificate check while connecting to the pinned address', async () => {
    const { port, seen } = await serve((_req, res) => res.writeHead(200).end('ok'), { tls: true });
    const res = await createHttpClient({ ca: cert }).post(target(`https://hooks.example.test:${port}/in`), '{}', {
      headers,
    });

    expect(res.status).toBe(200);
    expect(seen[0]).toMatchObject({ servername: 'hooks.example.test', headers: { host: `hooks.example.test:${port}` } });
  });

  it('refuses a certificate that does not name the URL host', async () => {
    const { port } = await serve((_req, res) => res.writeHead(200).end(), { tls: true });
    const err = await createHttpClient({ ca: cert })
      .post(target(`https://other.example.test:${port}/in`), '{}', { headers })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).message).toMatch(
      new RegExp(`^Could not POST to https://other.example.test:${port}/in: ERR_TLS_CERT_ALTNAME_INVALID`),
    );
  });

  it('DNS rebinding: connects to the address that was checked, not to a later DNS answer', async () => {
    const pinned = await serve((_req, res) => res.writeHead(200).end('pinned'), { host: '127.0.0.1' });
    const rebound = await serve((_req, res) => res.writeHead(200).end('rebound'), {
      host: '127.0.0.2',
      port: pinned.port,
    });
    const answers = ['127.0.0.1', '127.0.0.2'];
    let lookups = 0;
    const guard = createUrlGuard({
      allowHttp: true,
      allowLoopback: true,
      resolve: async () => [{ address: answers[Math.min(lookups++, 1)]!, family: 4 }],
    });

    const checked = await guard.check(`http://rebind.example.test:${pinned.port}/in`);
    const res = await createHttpClient().post(checked, '{}', { headers });

    expect(res.body.toString()).toBe('pinned');
    expect(pinned.seen).toHaveLength(1);
    expect(rebound.seen).toHaveLength(0);
    expect(lookups).toBe(1);
  });

  it('does not follow redirects', async () => {
    const elsewhere = await serve((_req, res) => res.writeHead(200).end());
    const { port } = await serve((_req, res) =>
      res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end(),
    );
    const res = await createHttpClient().post(target(`http://127.0.0.1:${port}/in`), '{}', { headers });

    expect(res.status).toBe(302);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('gives up on a server that never answers after the total timeout', async () => {
    const { port } = await serve(() => undefined); // hangs
    const started = Date.now();
    const err = await createHttpClient({ timeoutMs: 300 })
      .post(target(`http://127.0.0.1:${port}/in?token=x`), '{}', { headers })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({
      retryable: true,
      message: `Expected a response from http://127.0.0.1:${port}/in within 300 ms but none arrived`,
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('counts a slow body against the same timeout', async () => {
    const { port } = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial'); // ...and never ends
    });
    await expect(
      createHttpClient().post(target(`http://127.0.0.1:${port}/in`), '{}', { headers, timeoutMs: 300 }),
    ).rejects.toThrow(`Expected a response from http://127.0.0.1:${port}/in within 300 ms but none arrived`);
  });

  it('keeps at most 64 KB of the response body', async () => {
    const { port } = await serve((_req, res) => res.writeHead(500).end(Buffer.alloc(200 * 1024, 'x')));
    const res = await createHttpClient().post(target(`http://127.0.0.1:${port}/in`), '{}', { headers });

    expect(res.status).toBe(500);
    expect(res.body.length).toBe(64 * 1024);
    expect(res.truncated).toBe(true);
  });

  it('reports a refused connection as retryable', async () => {
    const { port } = await serve(() => undefined);
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const err = await createHttpClient()
      .post(target(`http://127.0.0.1:${port}/in`), '{}', { headers })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, code: 'DELIVERY_ERROR' });
    expect((err as Error).message).toMatch(new RegExp(`^Could not POST to http://127.0.0.1:${port}/in: ECONNREFUSED`));
  });

  it('stops when the caller aborts', async () => {
    const { port } = await serve(() => undefined);
    const abort = new AbortController();
    const pending = createHttpClient().post(target(`http://127.0.0.1:${port}/in`), '{}', {
      headers,
      signal: abort.signal,
    });
    setTimeout(() => abort.abort(), 50);
    await expect(pending).rejects.toThrow(`Request to http://127.0.0.1:${port}/in was aborted`);
  });
});

describe('pinnedLookup', () => {
  const lookup = pinnedLookup('hooks.example.com', '93.184.215.14', 4);

  it('answers single lookups with the pinned address', async () => {
    const answer = await new Promise((resolve) =>
      lookup('hooks.example.com', {}, (err, address, family) => resolve({ err, address, family })),
    );
    expect(answer).toEqual({ err: null, address: '93.184.215.14', family: 4 });
  });

  it('answers all-address lookups (happy eyeballs) with only the pinned address', async () => {
    const answer = await new Promise((resolve) =>
      lookup('hooks.example.com', { all: true }, (err, addresses) => resolve({ err, addresses })),
    );
    expect(answer).toEqual({ err: null, addresses: [{ address: '93.184.215.14', family: 4 }] });
  });

  it('refuses to answer for any other host', async () => {
    const err = await new Promise((resolve) => lookup('evil.example.com', {}, (e) => resolve(e)));
    expect(err).toMatchObject({
      code: 'ENOTFOUND',
      message: 'Expected a lookup of the pinned host hooks.example.com but received one for evil.example.com',
    });
  });
});

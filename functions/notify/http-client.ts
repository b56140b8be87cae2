import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { DeliveryError } from '#core/errors';
import { redactUrl, type PinnedTarget } from './url-guard.ts';

/**
 * POSTs to a URL that passed the guard, connecting to the guard's pinned address (never a fresh
 * DNS answer). TLS SNI, certificate checks and the Host header still use the URL's host name.
 * Redirects are never followed: a 3xx comes back as a response like any other.
 */

export const DEFAULT_TIMEOUT_MS = 10_000;
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most MAX_RESPONSE_BYTES; the rest is discarded. */
  body: Buffer;
  truncated: boolean;
}

export interface PostOptions {
  headers: Record<string, string>;
  /** Total time for connect + send + response, default the client's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpClient {
  post(target: PinnedTarget, body: string, options: PostOptions): Promise<HttpResponse>;
}

export interface HttpClientOptions {
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Extra CA certificates (tests with a self-signed receiver). */
  ca?: string | Buffer;
}

/**
 * A `lookup` for http(s).request that answers every query with the pinned address: the socket
 * cannot connect anywhere else, whatever DNS says by then. Handles `all: true`, which Node asks
 * for when `autoSelectFamily` (happy eyeballs) is on.
 */
export function pinnedLookup(hostname: string, address: string, family: 4 | 6): LookupFunction {
  return (requested, options, callback) => {
    if (requested.toLowerCase() !== hostname.toLowerCase()) {
      const err: NodeJS.ErrnoException = new Error(
        `Expected a lookup of the pinned host ${hostname} but received one for ${requested}`,
      );
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all) {
      (callback as unknown as (e: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  return {
    post(target, body, postOptions) {
      const timeoutMs = postOptions.timeoutMs ?? defaultTimeoutMs;
      const shown = redactUrl(target.url);
      const isHttps = target.url.protocol === 'https:';
      const transport = isHttps ? https : http;

      return new Promise<HttpResponse>((resolve, reject) => {
        let settled = false;
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          postOptions.signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const fail = (err: DeliveryError) => {
          finish(() => reject(err));
          req.destroy();
        };

        const req = transport.request({
          method: 'POST',
          protocol: target.url.protocol,
          host: target.hostname,
          port: target.url.port || (isHttps ? 443 : 80),
          path: `${target.url.pathname}${target.url.search}`,
          headers: { ...postOptions.headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: pinnedLookup(target.hostname, target.address, target.family),
          agent: false, // no pooled sockets: each request connects to its own pinned address
          ...(isHttps && options.ca ? { ca: options.ca } : {}),
        });

        const timer = setTimeout(() => {
          fail(
            new DeliveryError(`Expected a response from ${shown} within ${timeoutMs} ms but none arrived`, {
              retryable: true,
            }),
          );
        }, timeoutMs);
        const onAbort = () => fail(new DeliveryError(`Request to ${shown} was aborted`, { retryable: true }));
        postOptions.signal?.addEventListener('abort', onAbort, { once: true });
        if (postOptions.signal?.aborted) onAbort();

        req.on('error', (err: NodeJS.ErrnoException) => {
          const reason = err.code ? `${err.code} (${err.message})` : err.message;
          fail(new DeliveryError(`Could not POST to ${shown}: ${reason}`, { cause: err, retryable: true }));
        });

        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          let truncated = false;
          const done = () =>
            finish(() =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated }),
            );
          res.on('data', (chunk: Buffer) => {
            if (kept + chunk.length <= maxBytes) {
              chunks.push(chunk);
              kept += chunk.length;
              return;
            }
            // More than we keep: take what fits, stop reading and release the socket.
            chunks.push(chunk.subarray(0, maxBytes - kept));
            kept = maxBytes;
            truncated = true;
            done();
            res.destroy();
          });
          res.on('end', done);
          res.on('error', (err) =>
            fail(new DeliveryError(`Reading the response from ${shown} failed: ${err.message}`, { cause: err })),
          );
        });

        req.end(body);
      });
    },
  };
}

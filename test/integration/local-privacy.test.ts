/**
 * Private by default (issue 11): every listener of the local stack binds loopback, so a connection
 * through another address of this machine is refused; --host is the only way out, and it warns.
 */
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '#local/emulator';
import { exposureWarning, isLoopback } from '#local/listen';
import { startLocalStack, type LocalStack } from '#local/stack';
import { startStackWebServer, type WebServer } from '#local/web-server';
import { startWebhookReceiver } from '#local/webhook-receiver';

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

function connect(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

let stack: LocalStack;
let web: WebServer;

beforeAll(async () => {
  stack = await startLocalStack({ worker: false, modelVersion: 'privacy-test' });
  web = await startStackWebServer(stack, { port: 0 });
}, 60_000);
afterAll(async () => {
  await web?.close();
  await stack?.stop();
}, 60_000);

describe('local listeners', () => {
  it('serve on loopback', async () => {
    const listeners = [stack.endpoint, stack.receiver.url, web.url].map((u) => new URL(u));
    for (const u of listeners) {
      expect(isLoopback(u.hostname)).toBe(true);
      expect(await connect('127.0.0.1', Number(u.port))).toBe('connected');
    }
  });

  it.skipIf(!external)('refuse a connection through a non-loopback address of this machine', async () => {
    const listeners = [stack.endpoint, stack.receiver.url, web.url].map((u) => Number(new URL(u).port));
    for (const port of listeners) expect(await connect(external!, port), `port ${port} via ${external}`).toBe('ECONNREFUSED');
  });

  it.skipIf(!external)('serve that address only when asked to, with a warning', async () => {
    const exposed = await startEmulator({ host: '0.0.0.0' });
    try {
      expect(await connect(external!, exposed.port)).toBe('connected');
    } finally {
      await exposed.stop();
    }
    const receiver = await startWebhookReceiver({ secret: `whsec_${Buffer.alloc(24, 1).toString('base64')}`, host: '0.0.0.0' });
    try {
      expect(new URL(receiver.url).hostname, 'deliveries still go to loopback').toBe('127.0.0.1');
      expect(await connect(external!, Number(new URL(receiver.url).port))).toBe('connected');
    } finally {
      await receiver.close();
    }
    expect(exposureWarning('0.0.0.0', 'the S3+SQS endpoint')).toMatch(/^warning: the S3\+SQS endpoint listens on 0\.0\.0\.0: anyone who can reach/);
    expect(exposureWarning('127.0.0.1', 'x')).toBeUndefined();
  });
});

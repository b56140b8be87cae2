/** The embedded S3 + SQS emulator (fauxqs, in-process, HTTP on loopback unless told otherwise). */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { LOOPBACK_HOST, urlHost } from './listen.ts';

export interface EmulatorOptions {
  /** 0 = a random free port. */
  port?: number;
  /** The address to listen on (default 127.0.0.1: nothing outside this machine can reach it). */
  host?: string;
  /** Keep queues, messages, buckets and objects here (fauxqs's SQLite file); unset = in memory. */
  dataDir?: string;
}

export interface Emulator {
  /** http://127.0.0.1:<port> — give it to the real AWS SDK clients as `endpoint`. */
  endpoint: string;
  port: number;
  /** The address it listens on. */
  host: string;
  /** Where its state is kept, when it is kept. */
  dataDir?: string;
  /** Messages a previous process had in flight, made ready again at start-up. */
  released: number;
  /** fauxqs's own handle (non-destructive queue inspection for the start-up reconcile). */
  server: FauxqsServer;
  stop(): Promise<void>;
}

/**
 * fauxqs 2.x listens on 0.0.0.0 whatever `host` says (its `host` only names queue URLs), and its
 * HTTP server is not reachable from outside. So, for the duration of the start-up call, a listen on
 * a wildcard address is redirected to the address asked for; the bound address is then checked, and
 * a mismatch stops the emulator and fails, rather than serving photos to the network.
 */
async function withListenHost<T>(host: string, start: () => Promise<T>): Promise<T> {
  const original = net.Server.prototype.listen;
  const wildcard = (h: unknown) => h === undefined || h === '0.0.0.0' || h === '::';
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    const [first] = args;
    if (first && typeof first === 'object' && !Array.isArray(first) && wildcard((first as net.ListenOptions).host)) {
      args[0] = { ...(first as net.ListenOptions), host };
    }
    return (original as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof original;
  try {
    return await start();
  } finally {
    net.Server.prototype.listen = original;
  }
}

/**
 * Messages the previous process had in flight: nobody holds them any more (the data dir is locked
 * to one process), so they are made ready before fauxqs loads them. fauxqs 2.4 restores an in-flight
 * FIFO message with its old receipt handle and group lock, where no request can release it, and the
 * group stays blocked for the rest of its visibility timeout (jobs looked lost after a kill -9).
 * Returns how many were released.
 */
export async function releaseInFlightOnDisk(dataDir: string): Promise<number> {
  const file = join(dataDir, 'fauxqs.db');
  if (!existsSync(file)) return 0;
  // node:sqlite (Node >= 22.5) is newer than the @types/node the project type-checks against.
  const sqlite = 'node:sqlite';
  const { DatabaseSync } = (await import(sqlite)) as {
    DatabaseSync: new (path: string) => { prepare(sql: string): { run(): { changes: number | bigint } }; close(): void };
  };
  const db = new DatabaseSync(file);
  try {
    const r = db.prepare('UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE receipt_handle IS NOT NULL').run();
    return Number(r.changes);
  } finally {
    db.close();
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? LOOPBACK_HOST;
  const released = options.dataDir ? await releaseInFlightOnDisk(options.dataDir) : 0;
  const server = await withListenHost(host, () =>
    startFauxqs({ port: options.port ?? 0, logger: false, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }),
  );
  const bound = new URL(server.address).hostname.replace(/^\[|\]$/g, '');
  const wildcard = host === '0.0.0.0' || host === '::';
  if (!wildcard && bound !== host && !(host === 'localhost' && bound === '127.0.0.1')) {
    await server.stop();
    throw new Error(`Expected the S3+SQS emulator to listen on ${host} but it listens on ${bound}`);
  }
  // Clients always use a numeric loopback address when the emulator is on loopback or a wildcard.
  const clientHost = wildcard || host === 'localhost' ? LOOPBACK_HOST : host;
  return {
    endpoint: `http://${urlHost(clientHost)}:${server.port}`,
    port: server.port,
    host,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    released,
    server,
    stop: () => server.stop(),
  };
}

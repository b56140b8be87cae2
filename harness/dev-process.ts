/**
 * `greenscreen dev` as a separate process, as a user runs it: start, wait for its banner, stop with
 * a signal (or kill -9). Vitest-free: the `bench:local` benchmark uses it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';

export const REPO = join(import.meta.dirname, '..');
export const CLI = join(REPO, 'bin/greenscreen.js');

export interface DevProcess {
  child: ChildProcess;
  endpoint: string;
  /** Everything printed so far. */
  output(): string;
  /** Resolves with the exit code (or 128 + signal number). */
  exited: Promise<number>;
  /** ms from spawn to the banner. */
  readyMs: number;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** True when something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGSEGV: 11, SIGABRT: 6 };

export async function startDev(options: {
  dataDir: string;
  port: number;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<DevProcess> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [CLI, 'dev', '--data-dir', options.dataDir, '--port', String(options.port), '--web-port', '0', ...(options.args?.includes('--threads') ? [] : ['--threads', '1']), ...(options.args?.includes('--batch') ? [] : ['--batch', '2']), ...(options.args ?? [])],
    { cwd: REPO, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 1))));
  const deadline = started + (options.timeoutMs ?? 60_000);
  let code: number | undefined;
  void exited.then((c) => (code = c));
  while (!out.includes('Ctrl-C to stop.')) {
    if (code !== undefined) throw new Error(`Expected greenscreen dev to start but it exited ${code}:\n${out}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Expected greenscreen dev to print its banner within ${options.timeoutMs ?? 60_000} ms but it printed:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const endpoint = /S3\+SQS at (http:\/\/\S+),/.exec(out)?.[1];
  if (!endpoint) throw new Error(`Expected the endpoint in the banner but received:\n${out}`);
  return { child, endpoint, output: () => out, exited, readyMs: performance.now() - started };
}

/** `n` distinct small photo-like JPEGs (distinct bytes: identical uploads are one job). */
export async function distinctPhotos(n: number, offset = 0): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + offset;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="224">
      <rect width="160" height="224" fill="rgb(${(k * 37) % 255},${(k * 91) % 255},${(k * 53) % 255})"/>
      <ellipse cx="80" cy="60" rx="26" ry="32" fill="#e0b090"/>
      <rect x="40" y="95" width="80" height="129" rx="20" fill="rgb(${(k * 13) % 255},40,90)"/></svg>`;
    out.push(await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer());
  }
  return out;
}

/**
 * `greenscreen dev` started again right after a kill -9 of the last one (a supervisor's restart)
 * starts: the data dir's lock went with the killed process. Restarts 0 s and 1 s after the kill,
 * while the killed process is still in the process table (its parent has not reaped it: what the
 * pid in a lock file used to be mistaken for a live holder by).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, REPO, startDev, type DevProcess } from '#harness/dev-process';

let dataDir: string;
let port: number;
let dev: DevProcess | undefined;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gs-dev-restart-'));
  port = await freePort();
});
afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  if (dev && dev.child.exitCode === null && dev.child.signalCode === null) {
    dev.child.kill('SIGKILL');
    await dev.exited;
  }
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** `greenscreen dev` under a parent that never reaps it (a shell that went on to other work). Resolves with its pid once it is ready. */
async function devUnderIdleParent(): Promise<number> {
  const args = [CLI, 'dev', '--data-dir', dataDir, '--port', String(port), '--web-port', '0', '--threads', '1', '--batch', '2'];
  const shell = spawn('sh', ['-c', '"$0" "$@" & echo "pid $!"; exec sleep 600', process.execPath, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => shell.kill('SIGKILL'));
  let out = '';
  shell.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  shell.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Ctrl-C to stop.')) {
    if (Date.now() > deadline) throw new Error(`Expected greenscreen dev to start but it printed:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = Number(/^pid (\d+)$/m.exec(out)?.[1]);
  cleanup.push(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  return pid;
}

describe('greenscreen dev after kill -9', () => {
  it.each([0, 1000])('starts again %i ms after the kill, on the same data dir and port', async (delayMs) => {
    const pid = await devUnderIdleParent();
    process.kill(pid, 'SIGKILL');
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    dev = await startDev({ dataDir, port, timeoutMs: 120_000 });
    expect(dev.output()).not.toContain('CONFIG_ERROR');
    expect(() => process.kill(pid, 0), 'the killed process is still in the process table (not reaped)').not.toThrow();
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
  }, 300_000);
});

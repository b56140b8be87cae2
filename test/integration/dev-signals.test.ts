/**
 * `npx greenscreen dev` is npm -> sh -> node (-> node, where the system Node is older than the
 * pinned one). kill -TERM of the process the user started used to kill npm and sh and orphan node,
 * which kept the port (issue 11). Now every process of the chain ends and the port is free.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, listening, REPO } from '#test/dev-process';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every descendant of `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) (out.push(child), visit(child));
  };
  visit(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'));
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

describe.skipIf(process.platform !== 'linux')('stopping the npx chain', () => {
  // SIGTERM to npm alone (kill <pid>); SIGINT to the whole group, as a terminal's Ctrl-C sends it
  // (sent to npm alone, npm passes it to sh, which holds it until its child exits: node never sees it).
  it.each([
    ['SIGTERM', 'npm'],
    ['SIGINT', 'the process group'],
  ] as const)('kill -%s of %s stops node and frees the port', async (signal, target) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gs-sig-'));
    dirs.push(dataDir);
    const port = await freePort();
    const npm = spawn('npx', ['greenscreen', 'dev', '--data-dir', dataDir, '--port', String(port), '--web-port', '0', '--threads', '1'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, like a terminal's foreground job
    });
    let out = '';
    npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
    npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      expect(await until(() => out.includes('Ctrl-C to stop.'), 90_000), out).toBe(true);
      const chain = descendants(npm.pid!);
      expect(chain.length, 'npm starts sh and node').toBeGreaterThanOrEqual(2);

      process.kill(target === 'npm' ? npm.pid! : -npm.pid!, signal);

      expect(await until(async () => !(await listening(port)), 30_000), `port ${port} still taken:\n${out}`).toBe(true);
      expect(await until(() => chain.every((p) => !alive(p)), 30_000), `left running: ${chain.filter(alive).join(', ')}\n${out}`).toBe(true);
      expect(await listening(port)).toBe(false);
    } finally {
      for (const p of [npm.pid!, ...descendants(npm.pid!)]) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  }, 180_000);
});

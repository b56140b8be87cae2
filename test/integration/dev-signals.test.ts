/**
 * `npx greenscreen dev` is npm -> node (bash runs the lone command in place of itself: .npmrc
 * script-shell), or npm -> sh -> node with npm's default shell. kill -TERM of the process the user
 * started used to kill npm and sh and orphan node, which kept the port (issue 11); kill -INT of it
 * reached only sh, which held it: nothing stopped (issue 18). Now a signal to the outermost
 * process stops `dev` and `run` and frees their ports within 5 s.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '#core/processes';
import { distinctPhotos, freePort, listening, REPO, startDev } from '#harness/dev-process';

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
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

const alive = isAlive;

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
      expect(chain.length, 'npm starts node (and tsx its esbuild)').toBeGreaterThanOrEqual(1);

      process.kill(target === 'npm' ? npm.pid! : -npm.pid!, signal);

      expect(await until(async () => !(await listening(port)), 30_000), `port ${port} still taken:\n${out}`).toBe(true);
      expect(await until(() => chain.every((p) => !alive(p)), 30_000), `left running: ${chain.filter(alive).join(', ')}\n${out}`).toBe(true);
      expect(await listening(port)).toBe(false);
    } finally {
      for (const p of [npm.pid!, ...descendants(npm.pid!)]) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  }, 180_000);
});

describe.skipIf(process.platform !== 'linux')('a signal to the outermost npx process (issue 18)', () => {
  let photos: string;

  it.each([
    ['dev', 'SIGINT'],
    ['dev', 'SIGTERM'],
    ['run', 'SIGINT'],
    ['run', 'SIGTERM'],
  ] as const)('%s: kill -%s <npx pid> stops it and frees its ports within 5 s', async (command, signal) => {
    const work = await mkdtemp(join(tmpdir(), 'gs-npx-sig-'));
    dirs.push(work);
    if (command === 'run' && !photos) {
      photos = join(work, 'in');
      await mkdir(photos);
      for (const [i, p] of (await distinctPhotos(12)).entries()) await writeFile(join(photos, `p${i}.jpg`), p);
    }
    const port = await freePort();
    const webPort = await freePort();
    const args =
      command === 'dev'
        ? ['greenscreen', 'dev', '--data-dir', join(work, 'data'), '--port', String(port), '--web-port', String(webPort), '--threads', '1']
        : ['greenscreen', 'run', photos, '--out', join(work, 'out'), '--web-port', String(webPort), '--threads', '1', '--batch', '1', '--quiet'];
    // Not detached: the signal goes to npx alone, not to a process group as a terminal's Ctrl-C would.
    const npx = spawn('npx', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npx.stdout.on('data', (c: Buffer) => (out += c.toString()));
    npx.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | string>((r) => npx.once('exit', (code, sig) => r(code ?? String(sig))));
    try {
      expect(await until(() => listening(webPort), 120_000), `the page never listened:\n${out}`).toBe(true);
      const chain = descendants(npx.pid!);

      const sent = performance.now();
      process.kill(npx.pid!, signal);

      const free = await until(async () => !(await listening(webPort)) && (command === 'run' || !(await listening(port))), 5_000);
      const gone = await until(() => [npx.pid!, ...chain].every((p) => !alive(p)), Math.max(0, 5_000 - (performance.now() - sent)));
      const ms = Math.round(performance.now() - sent);
      expect({ free, gone, ms, left: [npx.pid!, ...chain].filter(alive) }, out.slice(-3000)).toEqual({ free: true, gone: true, ms, left: [] });
      expect(ms).toBeLessThanOrEqual(5_500);
      // dev: a signal is its way to end (exit 0); run: stopped early, 128 + the signal's number.
      expect(await exited).toBe(command === 'dev' ? 0 : signal === 'SIGINT' ? 130 : 143);
      expect(out).not.toMatch(/npm warn/);
    } finally {
      for (const p of [npx.pid!, ...descendants(npx.pid!)]) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  }, 180_000);

  it('npx prints no npm warning before greenscreen speaks (no unknown project config)', async () => {
    const npx = spawn('npx', ['greenscreen', '--help'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let stdout = '';
    npx.stderr.on('data', (c: Buffer) => (err += c.toString()));
    npx.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((r) => npx.once('exit', r));
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(stdout).toMatch(/^greenscreen — remove the background/);
  }, 60_000);
});

describe('a signal the moment the banner says "Ctrl-C to stop."', () => {
  // A supervisor (or a test) may send SIGTERM as soon as it reads the banner; it used to be printed
  // before the handlers were installed, and a signal in between killed dev uncleanly (exit 143).
  // The preload sends it from inside, right after the banner's write: no scheduling luck involved.
  it('SIGTERM right after the banner is written stops dev cleanly (exit 0)', async () => {
    const work = await mkdtemp(join(tmpdir(), 'gs-banner-sig-'));
    dirs.push(work);
    const preload = join(work, 'term-after-banner.mjs');
    await writeFile(
      preload,
      `const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => {
        const written = write(chunk, ...rest);
        if (String(chunk).includes('Ctrl-C to stop.')) process.kill(process.pid, 'SIGTERM');
        return written;
      };\n`,
    );
    const dev = await startDev({ dataDir: join(work, 'data'), port: await freePort(), env: { NODE_OPTIONS: `--import ${preload}` }, timeoutMs: 120_000 });
    expect(await dev.exited, dev.output()).toBe(0);
    expect(dev.output()).toContain('stopping (SIGTERM)');
  }, 180_000);
});

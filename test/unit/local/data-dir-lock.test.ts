/**
 * The data dir lock of `greenscreen dev` (#local/data-dir-lock): held while its process lives,
 * free again the moment the kernel ends it (kill -9), so a supervisor's immediate restart works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockDataDir } from '#local/data-dir-lock';
import { REPO } from '#harness/dev-process';

const scratch: string[] = [];
let dir: string;
const holders: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-lock-'));
  scratch.push(dir);
});
afterEach(() => {
  for (const h of holders.splice(0)) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
});
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

/** Another process that takes the lock and keeps it until it is killed. */
async function holder(dataDir: string): Promise<ChildProcess> {
  const code = `const { lockDataDir } = await import('#local/data-dir-lock'); await lockDataDir(${JSON.stringify(dataDir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  holders.push(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    child.once('exit', (status) => reject(new Error(`Expected the holder to take the lock but it exited ${status}: ${err}`)));
  });
  return child;
}

describe('lockDataDir', () => {
  it('refuses a second holder, naming the first, until the first releases it', async () => {
    const release = await lockDataDir(dir);
    await expect(lockDataDir(dir, { waitMs: 0 })).rejects.toMatchObject({
      code: 'CONFIG_ERROR',
      message: `Expected no other run of this command but process ${process.pid} holds ${join(dir, 'dev.lock')}`,
    });
    await release();
    const again = await lockDataDir(dir, { waitMs: 0 });
    await again();
  });

  it('is refused while another process holds it', async () => {
    const other = await holder(dir);
    await expect(lockDataDir(dir, { waitMs: 0 })).rejects.toThrow(`Expected no other run of this command but process ${other.pid} holds`);
  });

  it.each([0, 1000])('is free %i ms after its holder is killed with SIGKILL (no stale lock to wait out)', async (delayMs) => {
    const other = await holder(dir);
    other.kill('SIGKILL');
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const release = await lockDataDir(dir);
    expect((await readFile(join(dir, 'dev.pid'), 'utf8')).trim()).toBe(String(process.pid));
    await release();
  });

  it("takes over an earlier version's pid file whose process is gone, and keeps out while its process lives", async () => {
    await writeFile(join(dir, 'dev.lock'), '999999999');
    const release = await lockDataDir(dir, { waitMs: 0 });
    await release();

    const live = join(dir, 'live');
    await mkdir(live);
    await writeFile(join(live, 'dev.lock'), String(process.ppid));
    await expect(lockDataDir(live, { waitMs: 0 })).rejects.toThrow(`Expected no other run of this command but process ${process.ppid} holds`);
  });
});

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAlive } from '#core/processes';

describe('isAlive', () => {
  it('is true for this process and false for a pid that does not exist', () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(2 ** 22 + 1)).toBe(false); // above Linux's pid_max
  });

  it.runIf(process.platform === 'linux')('is false for a killed process its parent has not reaped yet (a zombie)', async () => {
    // A shell starts a child and becomes `sleep` (exec keeps its pid), which never waits for children:
    // once the test kills that child it stays a zombie. (A shell that kills it itself may reap it first.)
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => sh.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim()))));
      const execd = Date.now() + 5000; // the shell has become `sleep` when its command line says so
      while (!/^sleep/.test(readFileSync(`/proc/${sh.pid}/cmdline`, 'utf8')) && Date.now() < execd) await new Promise((r) => setTimeout(r, 10));
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 5000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(isAlive(pid)).toBe(false);
      expect(() => process.kill(pid, 0)).not.toThrow(); // still in the process table
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

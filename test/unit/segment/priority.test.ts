import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url);

// In a child process: lowering priorities is process-wide and would slow the test runner itself.
const SCRIPT = `
import { readFileSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { deprioritiseAllBut } from './functions/segment/priority.ts';
const niceOf = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
const w = new Worker("import { parentPort } from 'node:worker_threads'; import { readlinkSync } from 'node:fs'; parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop())); setInterval(() => {}, 1000);", { eval: true });
const base = niceOf(process.pid);
const keep = await new Promise((r) => w.once('message', r));
const result = deprioritiseAllBut([keep], 7);
const nice = Object.fromEntries(readdirSync('/proc/self/task').map((t) => [t, niceOf(t)]));
console.log(JSON.stringify({ base, keep, main: process.pid, result, nice }));
process.exit(0);
`;

describe('deprioritiseAllBut', () => {
  it.runIf(process.platform === 'linux')('lowers every thread but the kept ones, which stay as they were', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: ROOT });
    const { base, keep, main, result, nice } = JSON.parse(stdout) as {
      base: number;
      keep: number;
      main: number;
      result: { lowered: number; kept: number };
      nice: Record<string, number>;
    };

    expect(nice[keep]).toBe(base);
    expect(nice[main]).toBe(Math.max(base, 7));
    if (base < 7) {
      expect(result.lowered).toBeGreaterThanOrEqual(1);
      expect(Object.values(nice).filter((n) => n === base)).toHaveLength(1);
    }
  });

  it('does nothing with nice 0 or nothing to keep', async () => {
    const { deprioritiseAllBut } = await import('#segment/priority');
    expect(deprioritiseAllBut([1], 0)).toEqual({ lowered: 0, kept: 0 });
    expect(deprioritiseAllBut([], 10)).toEqual({ lowered: 0, kept: 0 });
  });
});

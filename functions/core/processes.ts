import { readFileSync } from 'node:fs';

/**
 * Whether a process is still running. Signal 0 checks without sending anything (EPERM: it exists
 * but is not ours). A zombie (killed, not yet reaped by its parent) is not running: on Linux its
 * /proc state says so; elsewhere it counts as running until it is reaped.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) state …": comm may hold spaces and parentheses; the last ')' ends it.
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

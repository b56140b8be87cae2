/**
 * How a long-running local command ends. SIGTERM, SIGINT and SIGHUP ask for a clean stop (a second
 * one at least a second later forces it); so does the death of any process that started this one
 * (`npx greenscreen dev` is npm -> sh -> node: a kill -TERM of npm used to orphan node, which kept
 * port 4566). Nothing is left listening.
 */
import { readFileSync } from 'node:fs';
import { isAlive } from '#core/processes';

export type StopReason = NodeJS.Signals | 'parent-exited';

/** pid -> parent pid, from /proc (Linux); undefined elsewhere or when the process is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The launcher chain above this process: the parent, and above it every npm / npx / sh / node
 * process up to the first other one (the user's shell, a terminal, a supervisor), which is not
 * watched: a shell that exits does not own a `nohup`ed or `&`ed stack.
 */
export function launcherChain(pid = process.pid): number[] {
  const chain: number[] = [];
  let parent = pid === process.pid ? process.ppid : parentOf(pid);
  while (parent !== undefined && parent > 1) {
    chain.push(parent);
    const next = parentOf(parent);
    if (next === undefined || next <= 1 || !/^(npm|npx|npm exec.*|sh|dash|node|MainThread)$/.test(commandOf(next))) break;
    if (chain.length >= 6) break;
    parent = next;
  }
  return chain;
}

export interface StopWatch {
  /** Resolves with the first reason to stop. */
  readonly stopped: Promise<StopReason>;
  dispose(): void;
}

/**
 * Watches for a reason to stop. `onForce` runs on a repeated signal at least `forceAfterMs` after
 * the first (a terminal's Ctrl-C can reach a process twice at once: through its group and through a
 * launcher that passes it on).
 */
export function watchForStop(options: { pollMs?: number; forceAfterMs?: number; onForce?: (reason: StopReason) => void } = {}): StopWatch {
  const chain = launcherChain();
  const originalParent = process.ppid;
  let first: number | undefined;
  let resolve!: (reason: StopReason) => void;
  const stopped = new Promise<StopReason>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (first === undefined) {
      first = now;
      resolve(signal);
    } else if (now - first >= (options.forceAfterMs ?? 1000)) {
      options.onForce?.(signal);
    }
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const timer = setInterval(() => {
    if (process.ppid !== originalParent || chain.some((pid) => !isAlive(pid))) {
      if (first === undefined) {
        first = performance.now();
        resolve('parent-exited');
      }
    }
  }, options.pollMs ?? 500);
  timer.unref();
  return {
    stopped,
    dispose() {
      clearInterval(timer);
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

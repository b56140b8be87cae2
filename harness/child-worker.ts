/**
 * The segment worker as a separate process (`node --import tsx functions/segment/main.ts`, the
 * ECS entry point), configured from the environment to work against a local stack started with
 * `worker: false`. A real process is what a real SIGKILL needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ENV } from '#core/config';
import type { LocalStack } from '#local/stack';

export const REPO_ROOT = join(import.meta.dirname, '..');

export interface ChildWorker {
  readonly process: ChildProcess;
  /** Parsed JSON log lines (stdout), in order. */
  readonly logs: readonly Record<string, unknown>[];
  /** Log lines whose message is "job succeeded" / "job failed" / "job duplicate". */
  count(message: string): number;
  /** Resolves when `predicate` holds for the logs so far (checked on every new line). */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export interface ChildWorkerOptions {
  visibilitySeconds: number;
  batchSize?: number;
  threads?: number;
  env?: Record<string, string>;
}

export function spawnWorker(stack: LocalStack, options: ChildWorkerOptions): ChildWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/segment/main.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      [ENV.bucket]: stack.resources.bucket,
      [ENV.jobsQueueUrl]: stack.resources.jobsQueueUrl,
      [ENV.eventsQueueUrl]: stack.resources.eventsQueueUrl,
      [ENV.endpoint]: stack.endpoint,
      [ENV.region]: stack.connection.region,
      [ENV.visibilitySeconds]: String(options.visibilitySeconds),
      [ENV.batchSize]: String(options.batchSize ?? 4),
      [ENV.threads]: String(options.threads ?? 2),
      [ENV.executionProvider]: 'cpu',
      GREENSCREEN_LOG_LEVEL: 'INFO',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env,
    },
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return; // not a log line
    }
    for (const l of listeners) l();
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    }),
  );
  const count = (message: string) => logs.filter((l) => l.message === message).length;

  return {
    process: child,
    logs,
    count,
    exited,
    kill: (signal) => void child.kill(signal),
    waitFor(predicate, timeoutMs, what) {
      if (predicate()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate()) {
            done();
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`Expected ${what} but the worker exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-5).join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`Expected ${what} within ${timeoutMs} ms; last logs: ${JSON.stringify(logs.slice(-3))} ${stderr.slice(-5).join('\n')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
      });
    },
  };
}

/**
 * The worker's liveness, as a file the poll loop touches and the container health check reads
 * (functions/segment/healthcheck.ts: Dockerfile HEALTHCHECK and the ECS task's healthCheck).
 *
 * Why a file and not a timer: a wedged CUDA context or a hung inference thread leaves the process
 * alive and its timers running, so only the loop itself may refresh it. The loop beats on every
 * turn (at least every long poll, 20 s, or failed receive, 30 s at most) and whenever a job ends;
 * it stops beating when its slots are full and no job ends, or when a job has been in flight longer
 * than JOB_STALL_SECONDS. The health check then fails and ECS replaces the task; its jobs become
 * visible again and another task takes them.
 *
 * Plain, erasable TypeScript with no imports but node's: the health check runs it with `node`
 * alone (Node 24 strips the types), without tsx, every 30 s.
 */
import { statSync, writeFileSync } from 'node:fs';

/** Where main.ts writes it unless GREENSCREEN_HEARTBEAT_FILE says otherwise (the image's /tmp is writable). */
export const DEFAULT_HEARTBEAT_FILE = '/tmp/greenscreen-heartbeat';
/** The health check fails when the file is older than this. */
export const HEARTBEAT_MAX_AGE_SECONDS = 120;
/** A job in flight this long means the loop is stuck: stop beating. */
export const JOB_STALL_SECONDS = 300;
/** Writes at most this often (the loop turns every second while jobs are in flight). */
const MIN_WRITE_INTERVAL_MS = 5_000;

export interface Heartbeat {
  beat(): void;
}

/** The heartbeat as a file whose modification time is the last beat. */
export class FileHeartbeat implements Heartbeat {
  readonly path: string;
  private readonly now: () => Date;
  private last = Number.NEGATIVE_INFINITY;

  constructor(path: string, now: () => Date = () => new Date()) {
    this.path = path;
    this.now = now;
  }

  beat(): void {
    const at = this.now();
    if (at.getTime() - this.last < MIN_WRITE_INTERVAL_MS) return;
    // The body is for people (`cat` it); the check reads the file's modification time.
    writeFileSync(this.path, `${at.toISOString()}\n`);
    this.last = at.getTime();
  }
}

export type HeartbeatCheck = { healthy: true; ageSeconds: number } | { healthy: false; reason: string };

/** Healthy when the heartbeat file exists and was written less than maxAgeSeconds ago. */
export function checkHeartbeat(path: string, maxAgeSeconds: number, now: Date): HeartbeatCheck {
  let modified: number;
  try {
    modified = statSync(path).mtimeMs;
  } catch (err) {
    return { healthy: false, reason: `Expected a heartbeat file at ${path} but it cannot be read: ${(err as Error).message}` };
  }
  const ageSeconds = Math.max(0, (now.getTime() - modified) / 1000);
  if (ageSeconds > maxAgeSeconds) {
    return {
      healthy: false,
      reason: `Expected a heartbeat at most ${maxAgeSeconds} s old but ${path} was last written ${Math.round(ageSeconds)} s ago`,
    };
  }
  return { healthy: true, ageSeconds };
}

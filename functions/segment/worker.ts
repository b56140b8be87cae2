/**
 * The poll loop: long-poll the jobs queue, keep up to `maxInFlight` jobs moving (so downloads and
 * codecs overlap inference), keep their visibility extended while they work, and on stop() finish
 * what is in flight without taking more.
 */
import { toPipelineError } from '#core/errors';
import { formatIssues } from '#core/issues';
import type { Logger } from '#core/logger';
import type { MessageQueue, ReceivedMessage } from '#core/ports';
import { segmentJobSchema } from '#core/messages';
import type { SegmentJob } from '#core/types';
import { JOB_STALL_SECONDS, type Heartbeat } from './heartbeat.ts';
import { processJob, recordFailure, type ProcessDeps } from './process-job.ts';

export interface WorkerOptions {
  maxInFlight: number;
  waitSeconds: number;
  visibilitySeconds: number;
  /** Receives after which a retryable failure is recorded as a permanent one (the DLQ is the backstop). */
  maxReceiveCount: number;
  /** Pause after a failed receive, doubled up to 30 s while the queue stays unreachable. */
  errorBackoffMs?: number;
  /** First retry delay of a job that failed transiently, doubled per receive up to 300 s (default 5). */
  retryBaseSeconds?: number;
  /**
   * Liveness for the container health check (heartbeat.ts): beaten on every turn of the loop and
   * whenever a job ends, never by a timer, and not while a job has been in flight longer than
   * `jobStallSeconds` (default JOB_STALL_SECONDS).
   */
  heartbeat?: Heartbeat;
  jobStallSeconds?: number;
}

export interface WorkerStats {
  received: number;
  succeeded: number;
  failed: number;
  duplicates: number;
  retried: number;
}

export interface JobMetrics {
  record(outcome: 'succeeded' | 'failed', latencyMs: number): void;
}

export class SegmentWorker {
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The newest receipt handle of each message in flight (a redelivery replaces it). */
  private readonly handles = new Map<string, string>();
  /** When each message in flight was taken (ms since epoch, from the deps' clock). */
  private readonly startedAt = new Map<string, number>();
  private visibilityTimer: NodeJS.Timeout | undefined;
  private stallLogged = false;
  readonly stats: WorkerStats = { received: 0, succeeded: 0, failed: 0, duplicates: 0, retried: 0 };

  constructor(
    private readonly jobs: MessageQueue<SegmentJob>,
    private readonly deps: ProcessDeps,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
    private readonly metrics?: JobMetrics,
  ) {}

  /** Resolves once stop() was called and every in-flight job has ended. */
  async run(): Promise<void> {
    this.visibilityTimer = setInterval(() => void this.extend(), Math.max(1000, (this.options.visibilitySeconds * 1000) / 3));
    this.visibilityTimer.unref();
    let backoff = this.options.errorBackoffMs ?? 500;
    try {
      while (!this.stopping) {
        this.beat();
        const capacity = this.options.maxInFlight - this.inFlight.size;
        if (capacity <= 0) {
          await Promise.race(this.inFlight.values());
          continue;
        }
        let messages: ReceivedMessage<SegmentJob>[];
        try {
          messages = await this.jobs.receive({
            max: capacity,
            // Do not sit in a 20 s long poll while work is in flight: poll briefly to keep the pipe full.
            waitSeconds: this.inFlight.size > 0 ? 1 : this.options.waitSeconds,
            visibilitySeconds: this.options.visibilitySeconds,
            signal: this.abort.signal,
          });
          backoff = this.options.errorBackoffMs ?? 500;
        } catch (err) {
          if (this.stopping) break;
          this.logger.warn('receive failed; backing off', { stage: 'receive', error: (err as Error).message, backoffMs: backoff });
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(30_000, backoff * 2);
          continue;
        }
        for (const m of messages) {
          this.stats.received++;
          this.handles.set(m.messageId, m.receiptHandle);
          if (this.inFlight.has(m.messageId)) {
            // Its visibility lapsed while it was still being worked on (the visibility extension stalled or failed).
            // Keep the one job going rather than start a second; it deletes or extends with the newest
            // receipt handle, the only one SQS honours.
            this.logger.warn('job redelivered while in flight; continuing the running one', {
              jobId: m.body?.jobId,
              stage: 'receive',
              receiveCount: m.receiveCount,
            });
            continue;
          }
          this.startedAt.set(m.messageId, this.deps.clock.now().getTime());
          const p = this.handle(m).finally(() => {
            this.inFlight.delete(m.messageId);
            this.handles.delete(m.messageId);
            this.startedAt.delete(m.messageId);
            this.beat();
          });
          this.inFlight.set(m.messageId, p);
        }
      }
      await Promise.allSettled(this.inFlight.values());
    } finally {
      clearInterval(this.visibilityTimer);
    }
  }

  /** Tell the health check the loop is alive, unless a job has been stuck longer than the stall limit. */
  private beat(): void {
    if (!this.options.heartbeat) return;
    const now = this.deps.clock.now().getTime();
    const stallMs = (this.options.jobStallSeconds ?? JOB_STALL_SECONDS) * 1000;
    const oldest = Math.min(...this.startedAt.values());
    if (now - oldest > stallMs) {
      if (!this.stallLogged) {
        this.logger.error('a job has been in flight too long; no more heartbeats, so the health check replaces this task', {
          stage: 'heartbeat',
          durationMs: now - oldest,
        });
        this.stallLogged = true;
      }
      return;
    }
    try {
      this.options.heartbeat.beat();
    } catch (err) {
      this.logger.warn('heartbeat write failed', { stage: 'heartbeat', error: (err as Error).message });
    }
  }

  /** Stop receiving; in-flight jobs finish. */
  stop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  get busy(): number {
    return this.inFlight.size;
  }

  private async extend(): Promise<void> {
    await Promise.all(
      [...this.handles].map(([messageId, h]) =>
        this.jobs.extendVisibility(h, this.options.visibilitySeconds).catch((err: Error) => {
          // A job that finished (its message deleted) or was handed out again while the call was in
          // the air leaves a stale handle behind, which SQS rejects: nothing is at risk, so no warning.
          if (this.handles.get(messageId) !== h) return;
          this.logger.warn('visibility extension failed', { stage: 'visibility', error: err.message });
        }),
      ),
    );
  }

  private async handle(m: ReceivedMessage<SegmentJob>): Promise<void> {
    const job = m.body;
    const receipt = () => this.handles.get(m.messageId) ?? m.receiptHandle;
    const log = { jobId: job?.jobId, objectKey: job?.source?.key };
    const started = performance.now();
    try {
      const parsed = segmentJobSchema.safeParse(job);
      if (!parsed.success) {
        const problems = formatIssues(parsed.error);
        this.logger.error('malformed job message; leaving it for the DLQ', { stage: 'receive', messageId: m.messageId, error: problems });
        return;
      }
      const outcome = await processJob(this.deps, parsed.data, m.receiveCount);
      await this.jobs.delete(receipt());
      if (outcome.kind === 'duplicate') this.stats.duplicates++;
      else this.stats[outcome.kind]++;
      if (outcome.kind !== 'duplicate') {
        const latency = Date.now() - Date.parse(job.enqueuedAt);
        this.metrics?.record(outcome.kind, latency);
      }
      this.logger.info(`job ${outcome.kind}`, {
        ...log,
        stage: 'done',
        durationMs: Math.round(performance.now() - started),
        ...(outcome.result.error ? { errorCode: outcome.result.error.code } : {}),
        timingsMs: outcome.result.timingsMs,
      });
    } catch (err) {
      const e = toPipelineError(err);
      const lastChance = m.receiveCount >= this.options.maxReceiveCount;
      if (!e.retryable || lastChance) {
        // A permanent error (e.g. INTERNAL_ERROR: a bug does the same thing again), or the last
        // chance for a transient one: a recorded failure, so the user hears about it.
        const message = e.retryable ? `Gave up after ${m.receiveCount} attempts: ${e.message}` : e.message;
        try {
          await recordFailure(this.deps, job, { code: e.code, message }, m.receiveCount);
          await this.jobs.delete(receipt());
          this.stats.failed++;
          this.metrics?.record('failed', Date.now() - Date.parse(job.enqueuedAt));
          this.logger.error(e.retryable ? 'job failed after retries' : 'job failed', { ...log, stage: 'done', errorCode: e.code, error: e.message });
          return;
        } catch (recordErr) {
          this.logger.error('could not record failure; the message goes to the DLQ', { ...log, error: (recordErr as Error).message });
        }
      }
      this.stats.retried++;
      const delay = Math.min(300, (this.options.retryBaseSeconds ?? 5) * 2 ** (m.receiveCount - 1));
      this.logger.warn('job will be retried', { ...log, stage: 'retry', errorCode: e.code, error: e.message, delaySeconds: delay });
      await this.jobs.release(receipt(), delay).catch(() => undefined);
    }
  }
}

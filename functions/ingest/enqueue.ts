import type { Clock, JobQueue, OutgoingMessage } from '#core/ports';
import type { ObjectRef, SegmentJob } from '#core/types';
import { admit } from './admission.ts';
import { jobIdFor } from '#core/results';

export interface EnqueueDeps {
  queue: JobQueue<SegmentJob>;
  clock: Clock;
  modelVersion: string;
  maxBytes: number;
  /** Only keys under this prefix become jobs ('' accepts every key). */
  acceptPrefix: string;
}

export interface EnqueueOptions {
  reprocess?: { runId: string; force: boolean };
}

export type EnqueueOutcome =
  | { key: string; status: 'enqueued'; jobId: string; rejected: boolean }
  | { key: string; status: 'skipped'; reason: string }
  | { key: string; status: 'failed'; jobId: string; reason: string };

/**
 * The one ingest use case: S3 events, Batch Operations tasks and local re-processing all come
 * through here. Rejected uploads are still enqueued (flagged) so the worker records a failed
 * result and the user hears about it; only non-uploads (folder markers, other prefixes) are skipped.
 */
export async function enqueueObjects(
  candidates: readonly ObjectRef[],
  deps: EnqueueDeps,
  options: EnqueueOptions = {},
): Promise<EnqueueOutcome[]> {
  const outcomes: EnqueueOutcome[] = [];
  const messages: OutgoingMessage<SegmentJob>[] = [];
  const keyById = new Map<string, { key: string; jobId: string; rejected: boolean }>();
  const seen = new Set<string>();
  const enqueuedAt = deps.clock.now().toISOString();

  for (const source of candidates) {
    if (!source.key.startsWith(deps.acceptPrefix)) {
      outcomes.push({ key: source.key, status: 'skipped', reason: `outside the input prefix ${JSON.stringify(deps.acceptPrefix)}` });
      continue;
    }
    const admission = admit(source, { maxBytes: deps.maxBytes });
    if (admission.kind === 'ignore') {
      outcomes.push({ key: source.key, status: 'skipped', reason: admission.reason });
      continue;
    }
    const jobId = jobIdFor(source, deps.modelVersion);
    if (seen.has(jobId)) {
      outcomes.push({ key: source.key, status: 'skipped', reason: `duplicate of job ${jobId} in the same batch` });
      continue;
    }
    seen.add(jobId);
    const body: SegmentJob = {
      v: 1,
      jobId,
      source,
      modelVersion: deps.modelVersion,
      enqueuedAt,
      ...(options.reprocess ? { reprocess: options.reprocess } : {}),
      ...(admission.kind === 'reject' ? { rejection: admission.failure } : {}),
    };
    const id = `${messages.length}`;
    // A forced re-run must not be swallowed by FIFO de-duplication of the original job.
    const deduplicationId = options.reprocess?.force ? `${jobId}-${options.reprocess.runId}`.slice(0, 128) : jobId;
    messages.push({ id, body, deduplicationId, groupId: jobId });
    keyById.set(id, { key: source.key, jobId, rejected: admission.kind === 'reject' });
  }

  const { failed } = messages.length ? await deps.queue.sendBatch(messages) : { failed: [] };
  const failedById = new Map(failed.map((f) => [f.id, f.reason]));
  for (const [id, { key, jobId, rejected }] of keyById) {
    const reason = failedById.get(id);
    outcomes.push(
      reason === undefined
        ? { key, status: 'enqueued', jobId, rejected }
        : { key, status: 'failed', jobId, reason: `SQS refused the job: ${reason}` },
    );
  }
  return outcomes;
}

import { toPipelineError } from '#core/errors';
import { optionsFromMetadata, resolveOutputSpec, type OutputProfile, type OutputSpec } from '#core/output-options';
import type { Clock, MessageQueue, ObjectStore, OutgoingMessage } from '#core/ports';
import type { JobFailure, ObjectRef, SegmentJob } from '#core/types';
import { admit } from './admission.ts';
import { jobIdFor } from '#core/results';

export interface EnqueueDeps {
  queue: MessageQueue<SegmentJob>;
  clock: Clock;
  modelVersion: string;
  maxBytes: number;
  /** Only keys under this prefix become jobs ('' accepts every key). */
  acceptPrefix: string;
  /** Output profiles by key prefix (#core/output-options); none = the defaults for every object. */
  profiles?: readonly OutputProfile[];
  /**
   * Where each object's user metadata (`x-amz-meta-greenscreen-*`, per-object output options) is
   * read: `headMetadata(store)` (one HEAD per accepted object) or a source that knows some answers
   * already (re-processing's options index, a Batch Operations task's own HEAD). Unset: metadata is
   * not consulted.
   */
  metadata?: MetadataSource;
}

/** An object's user metadata (S3's lower-case names without `x-amz-meta-`). */
export interface MetadataSource {
  metadataOf(source: ObjectRef): Promise<Record<string, string>>;
}

/** One HEAD per object (of its version, when the reference names one). */
export function headMetadata(store: Pick<ObjectStore, 'head'>): MetadataSource {
  return {
    async metadataOf(source) {
      const head = await store.head(source.bucket, source.key, source.versionId ? { versionId: source.versionId } : {});
      return head?.metadata ?? {};
    },
  };
}

/** Metadata reads in flight. */
const METADATA_CONCURRENCY = 16;

/** `overrides`: the object's own options, when its metadata was read. */
type Resolved =
  | { spec: OutputSpec; overrides?: Record<string, string> }
  | { failure: JobFailure; options: Record<string, string>; overrides?: Record<string, string> }
  | { error: string };

/** Each object's output spec: its prefix profile, overridden by its own metadata. */
async function resolveSpecs(sources: readonly ObjectRef[], deps: EnqueueDeps): Promise<Resolved[]> {
  const out: Resolved[] = new Array(sources.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < sources.length; i = next++) {
      const source = sources[i]!;
      let metadata: Record<string, string> = {};
      if (deps.metadata) {
        try {
          metadata = await deps.metadata.metadataOf(source);
        } catch (err) {
          out[i] = { error: `could not read the object's metadata: ${toPipelineError(err).message}` };
          continue;
        }
      }
      const overrides = deps.metadata ? { overrides: optionsFromMetadata(metadata) } : {};
      try {
        out[i] = { spec: resolveOutputSpec({ key: source.key, profiles: deps.profiles ?? [], metadata }), ...overrides };
      } catch (err) {
        const e = toPipelineError(err);
        out[i] = { failure: { code: e.code, message: e.message }, options: metadata, ...overrides };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(METADATA_CONCURRENCY, sources.length) }, work));
  return out;
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

  const admitted: { source: ObjectRef; admission: ReturnType<typeof admit> }[] = [];
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
    admitted.push({ source, admission });
  }
  const specs = await resolveSpecs(
    admitted.map((a) => a.source),
    { ...deps, ...(admitted.every((a) => a.admission.kind === 'reject') ? { metadata: undefined } : {}) },
  );

  for (const [i, { source, admission }] of admitted.entries()) {
    const resolved = specs[i]!;
    if ('error' in resolved) {
      outcomes.push({ key: source.key, status: 'failed', jobId: jobIdFor(source, deps.modelVersion), reason: resolved.error });
      continue;
    }
    // A bad option is a rejection like a bad upload: the worker records it as a failed result (with
    // a failure webhook). Its job id covers the bad options, so correcting them makes a new job.
    const rejection: JobFailure | undefined =
      admission.kind === 'reject' ? admission.failure : 'failure' in resolved ? resolved.failure : undefined;
    const spec = 'spec' in resolved ? resolved.spec : undefined;
    const jobId = jobIdFor(source, deps.modelVersion, 'failure' in resolved ? { invalidOptions: resolved.options } : spec);
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
      ...(spec && !rejection ? { output: spec } : {}),
      ...('overrides' in resolved && resolved.overrides ? { overrides: resolved.overrides } : {}),
      ...(options.reprocess ? { reprocess: options.reprocess } : {}),
      ...(rejection ? { rejection } : {}),
    };
    const id = `${messages.length}`;
    // A forced re-run must not be swallowed by FIFO de-duplication of the original job.
    const deduplicationId = options.reprocess?.force ? `${jobId}-${options.reprocess.runId}`.slice(0, 128) : jobId;
    messages.push({ id, body, deduplicationId, groupId: jobId });
    keyById.set(id, { key: source.key, jobId, rejected: rejection !== undefined });
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

/**
 * One job, start to finish: download -> decode -> infer (batched) -> encode -> upload -> commit
 * result.json -> publish the event. result.json is written last: it is the commit marker of a result
 * set, and outputs live in a per-job folder, so readers never see a half-written set.
 */
import { AccessDeniedError, ImageTooLargeError, QueueError, type PipelineError, toPipelineError } from '#core/errors';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { Clock, MessageQueue, ObjectStore, ResultStore } from '#core/ports';
import { resultJsonKey, resultKeys } from '#core/results';
import type { JobEvent, JobFailure, JobResult, SegmentJob } from '#core/types';
import { DEFAULT_OUTPUT_SPEC, FORMAT_FILES, InvalidOutputOptionError } from '#core/output-options';
import { decodeImage, type DecodedImage } from './image.ts';
import { renderOutputs } from './outputs.ts';
import type { ModelCard } from '#segmenter/card';
import type { Segmenter } from './inference.ts';

export interface ProcessDeps {
  store: ObjectStore;
  events: MessageQueue<JobEvent>;
  /** The model this worker has loaded (#segmenter/segmenter's one composition); its card names the model in every result. */
  segmenter: Pick<Segmenter, 'card' | 'segment'>;
  clock: Clock;
  bucket: string;
  maxBytes: number;
  maxPixels: number;
  /** Where result sets are written; by default #core/results' layout in `bucket` of `store`. */
  results?: ResultStore;
}

function resultStore(deps: ProcessDeps): ResultStore {
  return deps.results ?? new ObjectResultStore(deps.store, deps.bucket);
}

export type ProcessOutcome =
  | { kind: 'succeeded'; result: JobResult }
  | { kind: 'failed'; result: JobResult }
  /** Already committed by an earlier delivery: the event was re-published, nothing re-done. */
  | { kind: 'duplicate'; result: JobResult };

export function eventIdFor(job: Pick<SegmentJob, 'jobId' | 'reprocess'>): string {
  return job.reprocess ? `evt_${job.jobId}_${job.reprocess.runId}`.slice(0, 120) : `evt_${job.jobId}`;
}

async function timed<T>(timings: Record<string, number>, stage: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[stage] = Math.round((performance.now() - t0) * 10) / 10;
  }
}

/**
 * The fields every result has. `model` is the model this worker has loaded (the one that ran, or
 * would have): the one version a result records, in its body and in its metadata (see `commit`),
 * whatever version the job asked for. `outputs` are the files written: a failed result has only
 * its result.json.
 */
function baseResult(job: SegmentJob, card: ModelCard, attempts: number, outputs: JobResult['outputs']): Omit<JobResult, 'status' | 'finishedAt' | 'timingsMs'> {
  return {
    v: 1,
    jobId: job.jobId,
    source: job.source,
    model: { name: card.name, version: card.version },
    outputs,
    ...(job.output ? { output: job.output } : {}),
    attempts,
    ...(job.reprocess ? { reprocess: { runId: job.reprocess.runId } } : {}),
  };
}

/** Commits the result; the options the job's object asked for go to the options index (#core/results). */
function commit(deps: ProcessDeps, job: SegmentJob, result: JobResult): Promise<void> {
  return resultStore(deps).commit(result, job.overrides ? { overrides: job.overrides } : {});
}

async function publish(deps: ProcessDeps, job: SegmentJob, result: JobResult): Promise<void> {
  const event: JobEvent = {
    v: 1,
    type: result.status === 'succeeded' ? 'job.succeeded' : 'job.failed',
    eventId: eventIdFor(job),
    result,
  };
  const { failed } = await deps.events.sendBatch([{ id: job.jobId, body: event }]);
  if (failed.length) {
    throw new QueueError(`Could not publish ${event.type} for job ${job.jobId} to the events queue: ${failed[0]!.reason}`);
  }
}

/** Record a permanent failure as a result set of its own and tell the user. */
export async function recordFailure(
  deps: ProcessDeps,
  job: SegmentJob,
  failure: JobFailure,
  attempts: number,
  timingsMs: Record<string, number> = {},
  size?: { width: number; height: number },
): Promise<JobResult> {
  const result: JobResult = {
    ...baseResult(job, deps.segmenter.card, attempts, { result: resultJsonKey(job.source.key) }),
    status: 'failed',
    error: failure,
    timingsMs,
    ...(size ?? {}),
    finishedAt: deps.clock.now().toISOString(),
  };
  await commit(deps, job, result);
  await publish(deps, job, result);
  return result;
}

/** If this exact job was already committed (a redelivery), re-publish its event and stop. */
async function alreadyCommitted(deps: ProcessDeps, job: SegmentJob): Promise<JobResult | undefined> {
  if (job.reprocess?.force) return undefined;
  return resultStore(deps).readIfCommitted(job.source.key, job.jobId);
}

const size = (img: { width: number; height: number }) => ({ width: img.width, height: img.height });

/**
 * The background image a spec names, from the job's bucket, decoded under the same limits as a
 * photo. A missing or undecodable one is the option's fault: INVALID_OUTPUT_OPTION, naming the key.
 */
async function loadBackground(deps: ProcessDeps, bg: { key: string }): Promise<DecodedImage> {
  const where = `s3://${deps.bucket}/${bg.key}`;
  let obj: { body: Buffer };
  try {
    const head = await deps.store.head(deps.bucket, bg.key);
    if (!head) {
      throw new InvalidOutputOptionError(`Expected option background (image:${bg.key}) to name an image in the bucket but ${where} does not exist`);
    }
    obj = await deps.store.get(deps.bucket, bg.key, { maxBytes: deps.maxBytes });
  } catch (err) {
    const e = toPipelineError(err);
    // ACCESS_DENIED is the deployment's permissions, not the option's fault: it stays what it is.
    if (e.retryable || e instanceof InvalidOutputOptionError || e instanceof AccessDeniedError) throw e;
    // e.g. over the size limit.
    throw new InvalidOutputOptionError(`Expected option background (image:${bg.key}) to name a readable image in the bucket but ${e.message}`, { cause: err });
  }
  try {
    return await decodeImage(obj.body, { maxPixels: deps.maxPixels });
  } catch (err) {
    const e = toPipelineError(err);
    if (e.retryable) throw e;
    throw new InvalidOutputOptionError(`Expected option background (image:${bg.key}) to be a decodable image but ${where} is not: ${e.message}`, { cause: err });
  }
}

/**
 * Throws only retryable errors (the caller returns the message to the queue); permanent problems
 * with the photo end as a failed result.
 */
export async function processJob(deps: ProcessDeps, job: SegmentJob, attempts: number): Promise<ProcessOutcome> {
  const timings: Record<string, number> = {};
  const started = performance.now();
  const existing = await alreadyCommitted(deps, job);
  if (existing) {
    await publish(deps, job, existing);
    return { kind: 'duplicate', result: existing };
  }
  if (job.rejection) {
    return { kind: 'failed', result: await recordFailure(deps, job, job.rejection, attempts) };
  }

  let img: DecodedImage;
  try {
    if (job.source.size > deps.maxBytes) {
      throw new ImageTooLargeError(`Expected an upload of at most ${deps.maxBytes} bytes but received ${job.source.size} bytes`);
    }
    const obj = await timed(timings, 'download', () =>
      deps.store.get(job.source.bucket, job.source.key, {
        maxBytes: deps.maxBytes,
        ...(job.source.versionId ? { versionId: job.source.versionId } : {}),
      }),
    );
    img = await timed(timings, 'decode', () => decodeImage(obj.body, { maxPixels: deps.maxPixels }));
  } catch (err) {
    const e: PipelineError = toPipelineError(err);
    if (e.retryable) throw e;
    return { kind: 'failed', result: await recordFailure(deps, job, { code: e.code, message: e.message }, attempts, timings) };
  }

  const spec = job.output ?? DEFAULT_OUTPUT_SPEC;
  let background: DecodedImage | undefined;
  if (spec.outputs !== 'mask' && spec.background.type === 'image') {
    try {
      background = await timed(timings, 'background', () => loadBackground(deps, spec.background as { type: 'image'; key: string }));
    } catch (err) {
      const e: PipelineError = toPipelineError(err);
      if (e.retryable) throw e;
      return { kind: 'failed', result: await recordFailure(deps, job, { code: e.code, message: e.message }, attempts, timings, size(img)) };
    }
  }

  // The one path (#segmenter/segmenter): pre-process, model, subject rule (nobody there: an empty
  // mask, never a random blob), upsampling and the haze curve.
  const segmented = await deps.segmenter.segment(img);
  Object.assign(timings, segmented.timingsMs);
  const { mask, subject } = segmented;
  const rendered = await timed(timings, 'encode', () => renderOutputs(img, mask, spec, background));
  const keys = resultKeys(job.source.key, job.jobId, spec);
  await timed(timings, 'upload', () =>
    Promise.all([
      keys.mask && rendered.mask ? resultStore(deps).putOutput(keys.mask, rendered.mask, 'image/png') : undefined,
      keys.cutout && rendered.cutout ? resultStore(deps).putOutput(keys.cutout, rendered.cutout, FORMAT_FILES[spec.format].contentType) : undefined,
    ]),
  );
  timings.total = Math.round((performance.now() - started) * 10) / 10;
  const result: JobResult = {
    ...baseResult(job, deps.segmenter.card, attempts, keys),
    status: 'succeeded',
    width: img.width,
    height: img.height,
    modelInput: { width: segmented.plan.width, height: segmented.plan.height },
    subject,
    ...(rendered.width !== img.width || rendered.height !== img.height ? { outputSize: { width: rendered.width, height: rendered.height } } : {}),
    ...(rendered.crop ? { crop: rendered.crop } : {}),
    timingsMs: timings,
    finishedAt: deps.clock.now().toISOString(),
  };
  await commit(deps, job, result);
  await publish(deps, job, result);
  return { kind: 'succeeded', result };
}

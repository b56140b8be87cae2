/**
 * The messages that cross a queue (job, event) and the record they carry (result.json), as zod
 * schemas: one definition, types from `z.infer`, validated where they are read (the worker parses
 * each job, notify each event, every reader of result.json the result). Versioned: `v` changes when
 * a shape does. A webhook's `data` is declared here too, as a projection of the result.
 */
import { z } from 'zod';
import { ERROR_CODES, InvalidEventError } from './errors.ts';
import { formatIssues } from './issues.ts';
import { outputSpecSchema } from './output-options.ts';

export const objectRefSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  /** S3 ETag without quotes. */
  etag: z.string(),
  versionId: z.string().optional(),
  size: z.number().int().nonnegative(),
});
export type ObjectRef = z.infer<typeof objectRefSchema>;

/** Why a job failed: `code` is one of ERROR_CODES (#core/errors); a result with any other fails validation. */
export const jobFailureSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string() });
export type JobFailure = z.infer<typeof jobFailureSchema>;

export const jobStatusSchema = z.enum(['succeeded', 'failed']);
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** One message on the jobs queue. */
export const segmentJobSchema = z.object({
  v: z.literal(1),
  jobId: z.string().min(1),
  source: objectRefSchema,
  modelVersion: z.string().min(1),
  /** Set by bulk re-processing; surfaces in the webhook payload. */
  reprocess: z.object({ runId: z.string().min(1), force: z.boolean() }).optional(),
  /**
   * Set when ingest already knows the upload cannot be processed (empty, over the size limit,
   * not an image by its name): the worker records this failure without downloading anything.
   */
  rejection: jobFailureSchema.optional(),
  /** What to produce (#core/output-options); absent = the defaults (PNG cut-out + mask). */
  output: outputSpecSchema.optional(),
  /**
   * The object's own output options as ingest read them: its `greenscreen-*` user metadata, without
   * the prefix (`{}` = none). The worker records them in the options index (#core/results) so that
   * re-processing need not HEAD the object again. Absent: ingest did not read the metadata.
   */
  overrides: z.record(z.string()).optional(),
  enqueuedAt: z.string().datetime({ offset: true }),
});
export type SegmentJob = z.infer<typeof segmentJobSchema>;

/**
 * Keys of a result set's files: the outputs the job's spec asks for (`outputs`: both, mask or
 * cutout) when the job succeeded; a failed result lists only its `result` (results written before
 * that rule may still list keys that were never written: readers go by `status`, see existingOutputs).
 */
export const jobOutputsSchema = z.object({ mask: z.string().optional(), cutout: z.string().optional(), result: z.string() });
export type JobOutputs = z.infer<typeof jobOutputsSchema>;

/** `results/<source key>/result.json`: written last, it is the commit marker of a result set. */
export const jobResultSchema = z.object({
  v: z.literal(1),
  jobId: z.string().min(1),
  status: jobStatusSchema,
  source: objectRefSchema,
  model: z.object({ name: z.string(), version: z.string() }),
  outputs: jobOutputsSchema,
  /** Original (upright) size of the photo, when it could be read. */
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  /** Resolution the model ran at. */
  modelInput: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  /** The output options the job ran with (absent in results written before options existed). */
  output: outputSpecSchema.optional(),
  /** Size of the cut-out / mask files (after crop and max-size), when they differ from the photo's. */
  outputSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  /** Crop box in the photo's (upright) pixels, when the spec asked for a crop. */
  crop: z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  /**
   * Whether the model found a person: `none` means an empty mask and a fully transparent (or
   * background-only) cut-out, on the model's own evidence (functions/segmenter/subject.ts).
   */
  subject: z.enum(['person', 'none']).optional(),
  timingsMs: z.record(z.number()),
  error: jobFailureSchema.optional(),
  reprocess: z.object({ runId: z.string() }).optional(),
  attempts: z.number().int().nonnegative(),
  finishedAt: z.string().datetime({ offset: true }),
});
export type JobResult = z.infer<typeof jobResultSchema>;

export const jobEventTypeSchema = z.enum(['job.succeeded', 'job.failed']);
export type JobEventType = z.infer<typeof jobEventTypeSchema>;

/** One message on the events (notify) queue. */
export const jobEventSchema = z
  .object({
    v: z.literal(1),
    type: jobEventTypeSchema,
    /** Stable across redeliveries: becomes the `webhook-id`. */
    eventId: z.string().min(1),
    result: jobResultSchema,
  })
  .superRefine((event, ctx) => {
    const expected = event.type === 'job.succeeded' ? 'succeeded' : 'failed';
    if (event.result.status !== expected) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['result', 'status'],
        message: `Expected status "${expected}" for a ${event.type} event but received "${event.result.status}"`,
      });
    }
  });
export type JobEvent = z.infer<typeof jobEventSchema>;

/** Keys (and, in `urls`, presigned GET URLs) of the outputs a webhook points at. */
export const outputUrlsSchema = z.object({ mask: z.string().optional(), cutout: z.string().optional(), result: z.string() });
export type OutputUrls = z.infer<typeof outputUrlsSchema>;

/**
 * `data` of a job.succeeded / job.failed webhook: the result's public fields (declared here, picked
 * from the result schema, so a field added to the result is a decision here, not a forgotten copy),
 * with the outputs that exist and presigned URLs for them. Internal fields (timings, attempts, the
 * source's size, the model's input size) are not part of it.
 */
export const webhookDataSchema = jobResultSchema
  .pick({
    jobId: true,
    status: true,
    width: true,
    height: true,
    model: true,
    output: true,
    outputSize: true,
    crop: true,
    subject: true,
    error: true,
    reprocess: true,
    finishedAt: true,
  })
  .extend({
    source: objectRefSchema.omit({ size: true }),
    outputs: outputUrlsSchema,
    /** Presigned GET URLs for `outputs`, valid until `urlsExpireAt`. */
    urls: outputUrlsSchema,
    urlsExpireAt: z.string().datetime({ offset: true }),
  });
export type WebhookData = z.infer<typeof webhookDataSchema>;

/** The outputs a result points at that exist: all of them when it succeeded, only result.json when it failed. */
export function existingOutputs(result: JobResult): OutputUrls {
  const { mask, cutout } = result.outputs;
  return result.status === 'succeeded'
    ? { ...(mask !== undefined ? { mask } : {}), ...(cutout !== undefined ? { cutout } : {}), result: result.outputs.result }
    : { result: result.outputs.result };
}

/** The webhook's `data` for a result: the declared projection, with the given output URLs. */
export function webhookDataFor(result: JobResult, urls: OutputUrls, urlsExpireAt: string): WebhookData {
  return webhookDataSchema.parse({ ...result, outputs: existingOutputs(result), urls, urlsExpireAt });
}

/**
 * Parse a message body (JSON text or an already-parsed value) with its schema. `name` says what it
 * is in the error ("message 1234", "results/…/result.json"); problems name each field.
 */
export function parseMessage<S extends z.ZodTypeAny>(schema: S, body: unknown, name: string, kind: string): z.infer<S> {
  let raw: unknown = body;
  if (typeof body === 'string') {
    try {
      raw = JSON.parse(body);
    } catch (err) {
      throw new InvalidEventError(`Expected ${name} to be a JSON ${kind} but received ${body.length} bytes that are not JSON`, { cause: err });
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error);
    throw new InvalidEventError(`Expected ${name} to be a v1 ${kind} but: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}

import { z } from 'zod';
import { InvalidEventError } from '#core/errors';
import type { JobEvent } from '#core/types';

/** The events-queue message, checked before anything is sent anywhere. */

const failureSchema = z.object({ code: z.string(), message: z.string() });

const jobResultSchema = z.object({
  v: z.literal(1),
  jobId: z.string().min(1),
  status: z.enum(['succeeded', 'failed']),
  source: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    etag: z.string(),
    versionId: z.string().optional(),
    size: z.number().nonnegative(),
  }),
  model: z.object({ name: z.string(), version: z.string() }),
  outputs: z.object({ mask: z.string(), cutout: z.string(), result: z.string() }),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  modelInput: z.object({ width: z.number(), height: z.number() }).optional(),
  timingsMs: z.record(z.number()),
  error: failureSchema.optional(),
  reprocess: z.object({ runId: z.string() }).optional(),
  attempts: z.number().int().nonnegative(),
  finishedAt: z.string().datetime({ offset: true }),
});

export const jobEventSchema: z.ZodType<JobEvent> = z
  .object({
    v: z.literal(1),
    type: z.enum(['job.succeeded', 'job.failed']),
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

/** Parses one SQS message body; `messageId` only names the message in the error. */
export function parseJobEvent(body: string, messageId: string): JobEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    throw new InvalidEventError(
      `Expected message ${messageId} to be a JSON job event but received ${body.length} bytes that are not JSON`,
      { cause: err },
    );
  }
  const parsed = jobEventSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidEventError(`Expected message ${messageId} to be a v1 job event but: ${problems}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

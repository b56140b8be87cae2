import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { formatIssues } from './issues.ts';
import { DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_UPLOAD_BYTES } from './limits.ts';
import { parseProfiles } from './output-options.ts';
import { INPUT_PREFIX, RESOURCE_DEFAULTS } from './resources.ts';

/** Environment variable names: shared by infra (which sets them) and the functions (which read them). */
export const ENV = {
  bucket: 'GREENSCREEN_BUCKET',
  jobsQueueUrl: 'GREENSCREEN_JOBS_QUEUE_URL',
  eventsQueueUrl: 'GREENSCREEN_EVENTS_QUEUE_URL',
  inputPrefix: 'GREENSCREEN_INPUT_PREFIX',
  maxUploadBytes: 'GREENSCREEN_MAX_UPLOAD_BYTES',
  maxInputPixels: 'GREENSCREEN_MAX_INPUT_PIXELS',
  modelVersion: 'GREENSCREEN_MODEL_VERSION',
  modelCard: 'GREENSCREEN_MODEL_CARD',
  endpoint: 'GREENSCREEN_AWS_ENDPOINT',
  region: 'AWS_REGION',
  batchSize: 'GREENSCREEN_BATCH_SIZE',
  visibilitySeconds: 'GREENSCREEN_VISIBILITY_SECONDS',
  threads: 'GREENSCREEN_THREADS',
  codecNice: 'GREENSCREEN_CODEC_NICE',
  executionProvider: 'GREENSCREEN_EXECUTION_PROVIDER',
  subscriptions: 'GREENSCREEN_SUBSCRIPTIONS',
  subscriptionsSecretArn: 'GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN',
  allowLoopbackWebhooks: 'GREENSCREEN_ALLOW_LOOPBACK_WEBHOOKS',
  allowHttpWebhooks: 'GREENSCREEN_ALLOW_HTTP_WEBHOOKS',
  presignSeconds: 'GREENSCREEN_PRESIGN_SECONDS',
  webhookTimeoutMs: 'GREENSCREEN_WEBHOOK_TIMEOUT_MS',
  metricsNamespace: 'GREENSCREEN_METRICS_NAMESPACE',
  outputProfiles: 'GREENSCREEN_OUTPUT_PROFILES',
  /** The worker's liveness file for the container health check (functions/segment/heartbeat.ts). */
  heartbeatFile: 'GREENSCREEN_HEARTBEAT_FILE',
} as const;

export { DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_UPLOAD_BYTES };
/** See functions/segment/priority.ts. */
export const DEFAULT_CODEC_NICE = 10;

const intFromEnv = (def: number) => z.coerce.number().int().positive().default(def);
const boolFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Output profiles (JSON, #core/output-options): every profile is checked at start-up. */
export const outputProfilesFromEnv = z
  .string()
  .optional()
  .transform((v, ctx) => {
    try {
      return parseProfiles(v);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      return z.NEVER;
    }
  });

/** Connection settings every entry point shares. `endpoint` set = local emulator / S3-compatible. */
const awsSchema = z.object({
  [ENV.endpoint]: z.string().url().optional(),
  [ENV.region]: z.string().default('us-east-1'),
});

export const ingestConfigSchema = awsSchema.extend({
  [ENV.jobsQueueUrl]: z.string().min(1),
  [ENV.bucket]: z.string().min(1).optional(),
  [ENV.inputPrefix]: z.string().default(INPUT_PREFIX),
  [ENV.maxUploadBytes]: intFromEnv(DEFAULT_MAX_UPLOAD_BYTES),
  [ENV.modelVersion]: z.string().min(1),
  [ENV.outputProfiles]: outputProfilesFromEnv,
});

export const workerConfigSchema = awsSchema.extend({
  [ENV.bucket]: z.string().min(1),
  [ENV.jobsQueueUrl]: z.string().min(1),
  [ENV.eventsQueueUrl]: z.string().min(1),
  [ENV.maxUploadBytes]: intFromEnv(DEFAULT_MAX_UPLOAD_BYTES),
  [ENV.maxInputPixels]: intFromEnv(DEFAULT_MAX_INPUT_PIXELS),
  [ENV.modelCard]: z.string().optional(),
  [ENV.batchSize]: intFromEnv(4),
  /** Must match the jobs queue's visibility timeout: the worker receives and extends with it. */
  [ENV.visibilitySeconds]: intFromEnv(RESOURCE_DEFAULTS.jobsQueue.visibilityTimeoutSeconds),
  [ENV.threads]: z.coerce.number().int().nonnegative().default(0),
  /** CPU inference: nice value for every thread but inference's (0 = leave priorities alone). */
  [ENV.codecNice]: z.coerce.number().int().min(0).max(19).default(DEFAULT_CODEC_NICE),
  [ENV.executionProvider]: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
  /** Unset: no heartbeat file (local mode); the image sets it for its health check. */
  [ENV.heartbeatFile]: z.string().min(1).optional(),
});

export const notifyConfigSchema = awsSchema.extend({
  [ENV.subscriptions]: z.string().optional(),
  [ENV.subscriptionsSecretArn]: z.string().optional(),
  [ENV.allowLoopbackWebhooks]: boolFromEnv,
  [ENV.allowHttpWebhooks]: boolFromEnv,
  [ENV.presignSeconds]: intFromEnv(3600),
  [ENV.webhookTimeoutMs]: intFromEnv(10_000),
  /** For ChangeMessageVisibility (backoff); when unset, derived from each record's eventSourceARN. */
  [ENV.eventsQueueUrl]: z.string().min(1).optional(),
});

/** Parse once at start-up; a missing or malformed variable fails with its name. */
export function parseConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error);
    throw new ConfigError(`Invalid configuration: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}

export { RESOURCE_DEFAULTS };

import { toPipelineError } from '#core/errors';
import type { ObjectStore } from '#core/ports';
import { isReservedKey } from '#core/resources';
import type { ObjectRef } from '#core/types';
import { enqueueObjects, type EnqueueDeps } from './enqueue.ts';
import { decodeS3Key } from './s3-event.ts';
import { isUpToDate } from '#core/results';

/**
 * One task of an S3 Batch Operations "Invoke AWS Lambda function" invocation, schema 2.0: the
 * bucket by name (`s3Bucket`; schema 1.0 had `s3BucketArn` instead), the key URL-encoded.
 */
export interface BatchOperationsTask {
  taskId: string;
  s3Key: string;
  s3VersionId?: string | null;
  s3Bucket: string;
}

export interface BatchOperationsEvent {
  invocationSchemaVersion: string;
  invocationId: string;
  /** `userArguments` exist only in schema 2.0 (CreateJob's LambdaInvoke.UserArguments). */
  job: { id: string; userArguments?: Record<string, string> | null };
  tasks: BatchOperationsTask[];
}

export type BatchResultCode = 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';

export interface BatchOperationsResult {
  taskId: string;
  resultCode: BatchResultCode;
  resultString: string;
}

export interface BatchOperationsResponse {
  /** Must echo the request's version. */
  invocationSchemaVersion: string;
  treatMissingKeysAs: BatchResultCode;
  invocationId: string;
  results: BatchOperationsResult[];
}

/** User arguments understood by the ingest function (`greenscreen reprocess --aws` sets them). */
export const BATCH_USER_ARGUMENTS = {
  /** "true" re-does objects whose result is up to date. */
  force: 'force',
  /** A model version to target instead of the function's own GREENSCREEN_MODEL_VERSION. */
  model: 'model',
  /** Only keys under this prefix (an S3 Inventory manifest lists the whole bucket). */
  prefix: 'prefix',
} as const;

/** Batch Operations keeps at most this much of a result string in its completion report. */
const MAX_RESULT_STRING = 1024;

export function isBatchOperationsEvent(event: unknown): event is BatchOperationsEvent {
  const e = event as Partial<BatchOperationsEvent> | null;
  return !!e && typeof e.invocationSchemaVersion === 'string' && Array.isArray(e.tasks) && !!e.job;
}

export interface BatchOperationsDeps extends EnqueueDeps {
  store: ObjectStore;
}

/**
 * One Batch Operations invocation: each task becomes a job through the same use case as S3 events
 * and `greenscreen reprocess`. Result codes: Succeeded (enqueued, or nothing to do), PermanentFailure
 * (the object is gone, the task is malformed: retrying cannot help), TemporaryFailure (S3 or SQS
 * throttled or failing: Batch Operations retries the task). A retried task enqueues the same job
 * with the same FIFO de-duplication id, so a retry after a lost response creates no second job.
 */
export async function handleBatchOperations(
  event: BatchOperationsEvent,
  deps: BatchOperationsDeps,
): Promise<BatchOperationsResponse> {
  const respond = (results: BatchOperationsResult[]): BatchOperationsResponse => ({
    invocationSchemaVersion: event.invocationSchemaVersion,
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: event.invocationId,
    results: results.map((r) => ({ ...r, resultString: r.resultString.slice(0, MAX_RESULT_STRING) })),
  });
  if (event.invocationSchemaVersion !== '2.0') {
    return respond(
      event.tasks.map((t) => ({
        taskId: t.taskId,
        resultCode: 'PermanentFailure',
        resultString: `Expected invocationSchemaVersion "2.0" but received ${JSON.stringify(event.invocationSchemaVersion)}`,
      })),
    );
  }
  const args = event.job.userArguments ?? {};
  const force = ['true', '1', 'yes'].includes((args[BATCH_USER_ARGUMENTS.force] ?? '').toLowerCase());
  const modelVersion = args[BATCH_USER_ARGUMENTS.model] || deps.modelVersion;
  const prefix = args[BATCH_USER_ARGUMENTS.prefix] ?? '';
  // The Batch Operations job id is the run id: it marks the webhooks, and with `force` it is part
  // of the FIFO de-duplication id, so a forced re-run is not swallowed as a duplicate of the
  // original job while retries of the same task still are.
  const reprocess = { runId: event.job.id, force };

  const results = await Promise.all(
    event.tasks.map(async (task): Promise<BatchOperationsResult> => {
      const done = (resultCode: BatchResultCode, resultString: string): BatchOperationsResult => ({
        taskId: task.taskId,
        resultCode,
        resultString,
      });
      try {
        const bucket = task.s3Bucket;
        if (!bucket) {
          return done('PermanentFailure', `Expected the task to name a bucket (s3Bucket) but received ${JSON.stringify(task)}`);
        }
        const key = decodeS3Key(task.s3Key);
        if (isReservedKey(key)) return done('Succeeded', `skipped: ${key} is pipeline output, not a photo`);
        if (!key.startsWith(prefix)) return done('Succeeded', `skipped: outside the prefix ${JSON.stringify(prefix)}`);
        const versionId = task.s3VersionId ?? undefined;
        const head = await deps.store.head(bucket, key, versionId ? { versionId } : {});
        if (!head) {
          return done(
            'PermanentFailure',
            `Expected s3://${bucket}/${key}${versionId ? ` (version ${versionId})` : ''} to exist but it was not found`,
          );
        }
        const source: ObjectRef = {
          bucket,
          key,
          etag: head.etag,
          size: head.size,
          ...(versionId ? { versionId } : {}),
        };
        if (!force && (await isUpToDate(deps.store, source, modelVersion))) {
          return done('Succeeded', `up to date with model ${modelVersion}`);
        }
        // The object's options are in the HEAD just made: no second HEAD for its metadata.
        const metadata = deps.metadata ? { metadata: { metadataOf: () => Promise.resolve(head.metadata) } } : {};
        const [outcome] = await enqueueObjects([source], { ...deps, ...metadata, modelVersion, acceptPrefix: '' }, { reprocess });
        if (!outcome) return done('TemporaryFailure', 'not enqueued');
        if (outcome.status === 'failed') return done('TemporaryFailure', outcome.reason);
        if (outcome.status === 'skipped') return done('Succeeded', `skipped: ${outcome.reason}`);
        return done('Succeeded', `enqueued job ${outcome.jobId}${outcome.rejected ? ' (rejected upload: recorded as failed)' : ''}`);
      } catch (err) {
        const e = toPipelineError(err);
        return done(e.retryable ? 'TemporaryFailure' : 'PermanentFailure', `${e.code}: ${e.message}`);
      }
    }),
  );
  return respond(results);
}

import { PipelineError, toPipelineError } from '#core/errors';
import type { ObjectStore } from '#core/ports';
import type { ObjectRef } from '#core/types';
import { decodeS3Key } from './s3-event.ts';
import { enqueueObjects, type EnqueueDeps } from './enqueue.ts';
import { isUpToDate } from './staleness.ts';

/** S3 Batch Operations "Invoke AWS Lambda function" payload, invocation schema 2.0. */
export interface BatchOperationsEvent {
  invocationSchemaVersion: '2.0';
  invocationId: string;
  job: { id: string; userArguments?: Record<string, string> };
  tasks: { taskId: string; s3BucketName: string; s3Key: string; s3VersionId?: string | null }[];
}

export type BatchResultCode = 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';

export interface BatchOperationsResponse {
  invocationSchemaVersion: '2.0';
  treatMissingKeysAs: BatchResultCode;
  invocationId: string;
  results: { taskId: string; resultCode: BatchResultCode; resultString: string }[];
}

export function isBatchOperationsEvent(event: unknown): event is BatchOperationsEvent {
  const e = event as Partial<BatchOperationsEvent> | null;
  return !!e && typeof e.invocationSchemaVersion === 'string' && Array.isArray(e.tasks) && !!e.job;
}

export interface BatchOperationsDeps extends EnqueueDeps {
  store: ObjectStore;
}

/**
 * One Batch Operations invocation: each task becomes a job through the same use case as S3 events.
 * userArguments: `force=true` re-does up-to-date objects; `model=<version>` targets a model version.
 */
export async function handleBatchOperations(
  event: BatchOperationsEvent,
  deps: BatchOperationsDeps,
): Promise<BatchOperationsResponse> {
  const respond = (results: BatchOperationsResponse['results']): BatchOperationsResponse => ({
    invocationSchemaVersion: '2.0',
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: event.invocationId,
    results,
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
  const force = args.force === 'true';
  const modelVersion = args.model || deps.modelVersion;
  const reprocess = { runId: event.job.id, force };

  const results = await Promise.all(
    event.tasks.map(async (task): Promise<BatchOperationsResponse['results'][number]> => {
      try {
        const key = decodeS3Key(task.s3Key);
        const head = await deps.store.head(task.s3BucketName, key);
        if (!head) {
          return { taskId: task.taskId, resultCode: 'PermanentFailure', resultString: `Expected s3://${task.s3BucketName}/${key} to exist but it was not found` };
        }
        const source: ObjectRef = {
          bucket: task.s3BucketName,
          key,
          etag: head.etag,
          size: head.size,
          ...(task.s3VersionId ? { versionId: task.s3VersionId } : {}),
        };
        if (!force && (await isUpToDate(deps.store, source, modelVersion))) {
          return { taskId: task.taskId, resultCode: 'Succeeded', resultString: `up to date with model ${modelVersion}` };
        }
        const [outcome] = await enqueueObjects([source], { ...deps, modelVersion, acceptPrefix: '' }, { reprocess });
        if (!outcome || outcome.status === 'failed') {
          return { taskId: task.taskId, resultCode: 'TemporaryFailure', resultString: outcome?.reason ?? 'not enqueued' };
        }
        if (outcome.status === 'skipped') {
          return { taskId: task.taskId, resultCode: 'Succeeded', resultString: `skipped: ${outcome.reason}` };
        }
        return { taskId: task.taskId, resultCode: 'Succeeded', resultString: `enqueued job ${outcome.jobId}` };
      } catch (err) {
        const e = toPipelineError(err);
        return {
          taskId: task.taskId,
          resultCode: e.retryable ? 'TemporaryFailure' : 'PermanentFailure',
          resultString: `${e.code}: ${e.message}`.slice(0, 1024),
        };
      }
    }),
  );
  return respond(results);
}

export { PipelineError };

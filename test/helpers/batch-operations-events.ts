/** S3 Batch Operations "Invoke AWS Lambda function" invocations (schema 2.0), as AWS sends them. */
import type { BatchOperationsEvent, BatchOperationsTask } from '#ingest/batch-operations';

export interface BatchTaskInput {
  /** Already URL-encoded, as Batch Operations sends it. */
  encodedKey: string;
  bucket?: string;
  versionId?: string | null;
  taskId?: string;
}

export function batchTask(input: BatchTaskInput, n = 0): BatchOperationsTask {
  return {
    taskId: input.taskId ?? `dGFzay0${n}`,
    s3Bucket: input.bucket ?? 'greenscreen-uploads',
    s3Key: input.encodedKey,
    s3VersionId: input.versionId ?? null,
  };
}

export function batchEvent(
  tasks: BatchTaskInput[],
  options: { userArguments?: Record<string, string>; jobId?: string; invocationSchemaVersion?: string } = {},
): BatchOperationsEvent {
  return {
    invocationSchemaVersion: options.invocationSchemaVersion ?? '2.0',
    invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
    job: {
      id: options.jobId ?? 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce',
      ...(options.userArguments ? { userArguments: options.userArguments } : {}),
    },
    tasks: tasks.map((t, i) => batchTask(t, i)),
  };
}

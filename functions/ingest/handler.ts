import type { S3Event } from 'aws-lambda';
import { createSqsClient, createS3Client } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { ENV, ingestConfigSchema, parseConfig } from '#core/config';
import { InvalidEventError, QueueError } from '#core/errors';
import { createLogger, type Logger } from '#core/logger';
import { systemClock, type ObjectStore } from '#core/ports';
import type { SegmentJob } from '#core/types';
import { handleBatchOperations, isBatchOperationsEvent, type BatchOperationsEvent, type BatchOperationsResponse } from './batch-operations.ts';
import { enqueueObjects, headMetadata, type EnqueueDeps, type EnqueueOutcome } from './enqueue.ts';
import { isS3Event, objectsFromS3Event } from './s3-event.ts';

export interface IngestDeps extends EnqueueDeps {
  store: ObjectStore;
  logger: Logger;
}

export interface S3EventSummary {
  outcomes: EnqueueOutcome[];
}

/** Build the handler around injected deps (tests, local mode); `handler` below wires real AWS clients. */
export function createIngestHandler(deps: IngestDeps) {
  return async function ingest(event: S3Event | BatchOperationsEvent): Promise<S3EventSummary | BatchOperationsResponse> {
    const started = Date.now();
    if (isBatchOperationsEvent(event)) {
      const res = await handleBatchOperations(event, deps);
      deps.logger.info('batch operations tasks handled', {
        stage: 'ingest',
        tasks: event.tasks.length,
        failed: res.results.filter((r) => r.resultCode !== 'Succeeded').length,
        durationMs: Date.now() - started,
      });
      return res;
    }
    if (!isS3Event(event)) {
      throw new InvalidEventError('Expected an S3 event notification or an S3 Batch Operations invocation but received neither');
    }
    const outcomes = await enqueueObjects(objectsFromS3Event(event), deps);
    for (const o of outcomes) {
      deps.logger.info(`object ${o.status}`, {
        stage: 'ingest',
        objectKey: o.key,
        ...(o.status === 'skipped' ? { reason: o.reason } : { jobId: o.jobId }),
        ...(o.status === 'failed' ? { reason: o.reason } : {}),
        ...(o.status === 'enqueued' && o.rejected ? { rejected: true } : {}),
      });
    }
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length) {
      // Throwing makes Lambda retry the async S3 invocation (and then its on-failure destination):
      // the deterministic job id and FIFO de-duplication keep the retry from creating second jobs.
      throw new QueueError(`Could not enqueue ${failed.length} of ${outcomes.length} objects: ${failed.map((f) => f.key).join(', ')}`);
    }
    return { outcomes };
  };
}

let cached: ReturnType<typeof createIngestHandler> | undefined;

export async function handler(event: S3Event | BatchOperationsEvent): Promise<S3EventSummary | BatchOperationsResponse> {
  if (!cached) {
    const config = parseConfig(ingestConfigSchema);
    const conn = { region: config[ENV.region], endpoint: config[ENV.endpoint] };
    const store = new S3ObjectStore(createS3Client(conn));
    cached = createIngestHandler({
      queue: new SqsMessageQueue<SegmentJob>(createSqsClient(conn), config[ENV.jobsQueueUrl]),
      store,
      // Per-object output options: x-amz-meta-greenscreen-* (one HEAD per upload).
      metadata: headMetadata(store),
      clock: systemClock,
      modelVersion: config[ENV.modelVersion],
      maxBytes: config[ENV.maxUploadBytes],
      acceptPrefix: config[ENV.inputPrefix],
      profiles: config[ENV.outputProfiles],
      logger: createLogger('ingest'),
    });
  }
  return cached(event);
}

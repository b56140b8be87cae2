/** Builds a ready worker from configuration: used by main.ts (ECS) and by local mode. */
import { availableParallelism } from 'node:os';
import { createS3Client, createSqsClient, type AwsConnection } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { DEFAULT_CODEC_NICE } from '#core/config';
import type { Logger } from '#core/logger';
import { systemClock, type MessageQueue, type ObjectStore } from '#core/ports';
import { RESOURCE_DEFAULTS } from '#core/resources';
import type { JobEvent, SegmentJob } from '#core/types';
import { FileHeartbeat } from './heartbeat.ts';
import { createSegmenter, type Segmenter } from './inference.ts';
import type { ModelCard } from '#segmenter/card';
import { cardPathFor, loadModelCard } from './model-card.ts';
import type { ExecutionProviderChoice, ModelSession } from './model-session.ts';
import { deprioritiseAllBut } from './priority.ts';
import { SegmentWorker, type JobMetrics } from './worker.ts';

export interface WorkerSettings {
  connection: AwsConnection;
  bucket: string;
  jobsQueueUrl: string;
  eventsQueueUrl: string;
  maxBytes: number;
  maxPixels: number;
  batchSize: number;
  /** onnxruntime intra-op threads; 0 = all cores but one (that one decodes and encodes). */
  threads: number;
  provider: ExecutionProviderChoice;
  /** CPU inference: lower every other thread to this nice value (0 = off; default DEFAULT_CODEC_NICE). */
  codecNice?: number;
  modelCard?: string;
  /** Jobs in flight = batchSize x this (decode/encode of the next batch overlaps inference). */
  pipelineDepth?: number;
  waitSeconds?: number;
  visibilitySeconds?: number;
  maxReceiveCount?: number;
  /** First retry delay after a transient failure (doubled per receive). */
  retryBaseSeconds?: number;
  /** The loop beats this file for the container health check (heartbeat.ts); unset: no heartbeat. */
  heartbeatFile?: string;
}

export interface BuiltWorker {
  worker: SegmentWorker;
  session: ModelSession;
  card: ModelCard;
  segmenter: Segmenter;
}

/** Ports can be overridden (fault injection in tests); by default the real adapters are used. */
export async function buildWorker(
  settings: WorkerSettings,
  logger: Logger,
  overrides: { store?: ObjectStore; jobs?: MessageQueue<SegmentJob>; events?: MessageQueue<JobEvent>; metrics?: JobMetrics } = {},
): Promise<BuiltWorker> {
  const loaded = await loadModelCard(settings.modelCard ?? cardPathFor('tiramisu'));
  // Measured (bench/pipeline.ts, 2 cores): 1 inference thread + 1 core for codecs and I/O runs the
  // whole pipeline faster (8.4 images/s) than 2 inference threads fighting the codecs (8.0).
  const threads = settings.threads || Math.max(1, availableParallelism() - 1);
  const segmenter = await createSegmenter(loaded, { provider: settings.provider, threads, maxBatch: settings.batchSize });
  const { session } = segmenter;
  // The model is the bottleneck on a CPU: codecs and I/O fill the gaps around it (priority.ts).
  const niced =
    session.provider === 'cpu' ? deprioritiseAllBut(session.threadIds, settings.codecNice ?? DEFAULT_CODEC_NICE) : { lowered: 0, kept: 0 };
  const sqs = createSqsClient(settings.connection);
  const store = overrides.store ?? new S3ObjectStore(createS3Client(settings.connection));
  const jobs = overrides.jobs ?? new SqsMessageQueue<SegmentJob>(sqs, settings.jobsQueueUrl);
  const events = overrides.events ?? new SqsMessageQueue<JobEvent>(sqs, settings.eventsQueueUrl);
  const worker = new SegmentWorker(
    jobs,
    {
      store,
      events,
      segmenter,
      clock: systemClock,
      bucket: settings.bucket,
      maxBytes: settings.maxBytes,
      maxPixels: settings.maxPixels,
    },
    {
      maxInFlight: settings.batchSize * (settings.pipelineDepth ?? 2),
      waitSeconds: settings.waitSeconds ?? 20,
      visibilitySeconds: settings.visibilitySeconds ?? RESOURCE_DEFAULTS.jobsQueue.visibilityTimeoutSeconds,
      maxReceiveCount: settings.maxReceiveCount ?? RESOURCE_DEFAULTS.jobsQueue.maxReceiveCount,
      ...(settings.retryBaseSeconds !== undefined ? { retryBaseSeconds: settings.retryBaseSeconds } : {}),
      ...(settings.heartbeatFile ? { heartbeat: new FileHeartbeat(settings.heartbeatFile, () => systemClock.now()) } : {}),
    },
    logger,
    overrides.metrics,
  );
  logger.info('worker ready', {
    stage: 'start',
    model: `${loaded.card.name}@${loaded.card.version}`,
    provider: session.provider,
    batchSize: settings.batchSize,
    threads,
    otherThreadsNiced: niced.lowered,
  });
  return { worker, session, card: loaded.card, segmenter };
}

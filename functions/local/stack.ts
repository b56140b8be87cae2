/**
 * The whole pipeline on one machine: the embedded S3+SQS emulator, the same bucket/queues/DLQs as
 * the CDK stack, a local S3 event source -> ingest handler, the segment worker, the notify handler
 * driven like Lambda's SQS event source mapping, and a webhook receiver that verifies signatures.
 * Every piece is the production code; only the wiring is local.
 */
import { parseProfiles, type OutputProfile } from '#core/output-options';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient, type AwsConnection } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_UPLOAD_BYTES, ENV } from '#core/config';
import { createLogger, type Logger } from '#core/logger';
import { systemClock, type MessageQueue, type ObjectStore } from '#core/ports';
import { INPUT_PREFIX, RESOURCE_DEFAULTS } from '#core/resources';
import type { JobEvent, SegmentJob } from '#core/types';
import { headMetadata } from '#ingest/enqueue';
import { createIngestHandler } from '#ingest/handler';
import { createNotifyHandler, notifyDepsFromEnv } from '#notify/handler';
import type { ExecutionProviderChoice } from '#segment/model-session';
import { buildWorker, type BuiltWorker } from '#segment/build-worker';
import { startEmulator, type Emulator } from './emulator.ts';
import { LOOPBACK_HOST } from './listen.ts';
import { provisionResources, type ProvisionedResources } from './provision.ts';
import { reconcileInputs, type QueuedJob, type ReconcileSummary } from './reconcile.ts';
import { LocalS3EventSource } from './s3-event-source.ts';
import { startSqsEventSource, type SqsEventSource, type SqsLambdaHandler } from './sqs-event-source.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

export interface LocalStackOptions {
  /** 0 = random free port. `greenscreen dev` uses 4566. */
  port?: number;
  /** Address of every listener (emulator, webhook receiver). Default 127.0.0.1: private. */
  host?: string;
  /**
   * Keep state here (`greenscreen dev`): the emulator's SQLite file (buckets, objects, queues and
   * their messages) under `emulator/`, the receiver's secret and its deliveries (`webhooks.jsonl`).
   * At start-up in-flight messages are made visible again and the input prefix is reconciled
   * against the results. Unset = in memory.
   */
  dataDir?: string;
  /** The built-in receiver's signing secret (default: kept in the data dir, else a fresh one). */
  webhookSecret?: string;
  /** Use an already running S3/SQS endpoint instead of starting the embedded emulator. */
  endpoint?: string;
  region?: string;
  batchSize?: number;
  threads?: number;
  provider?: ExecutionProviderChoice;
  modelCard?: string;
  /** Append every accepted webhook delivery here (JSON lines). */
  webhooksJsonl?: string;
  /** Extra webhook subscriptions besides the local receiver (`--webhook`, GREENSCREEN_SUBSCRIPTIONS). */
  subscriptions?: { prefix: string; url: string; secrets: string[]; events?: ('job.succeeded' | 'job.failed')[] }[];
  /** Skip the worker (tests that drive it themselves). */
  worker?: boolean;
  /**
   * Load the model but take no job until `startTaking()` (`greenscreen dev`: a backlog of queued
   * jobs would otherwise compete with the rest of the start-up, whose threads run at a lower
   * priority than inference).
   */
  holdWorker?: boolean;
  /** Ports to substitute (fault injection). */
  overrides?: { store?: ObjectStore; jobs?: MessageQueue<SegmentJob>; events?: MessageQueue<JobEvent> };
  /** Wraps the object store of every piece, the worker's too (the page's job list sees which photos the worker is reading). */
  wrapStore?: (store: ObjectStore) => ObjectStore;
  /** Wraps the notify Lambda handler (fault injection: a handler that dies mid-batch). */
  wrapNotify?: (handler: SqsLambdaHandler) => SqsLambdaHandler;
  /** Redrive threshold of both queues and the worker's give-up point. */
  maxReceiveCount?: number;
  /** Visibility timeout of both queues and the worker's (short values make redelivery after a crash quick). */
  visibilitySeconds?: number;
  /** The worker's first retry delay after a transient failure (default 5 s; tests shorten it). */
  retryBaseSeconds?: number;
  logger?: Logger;
  pollMs?: number;
  modelVersion?: string;
  /** Output profiles by input prefix (#core/output-options); default: GREENSCREEN_OUTPUT_PROFILES. */
  profiles?: OutputProfile[];
}

export interface LocalStack {
  endpoint: string;
  connection: AwsConnection;
  resources: ProvisionedResources;
  s3: S3Client;
  sqs: SQSClient;
  store: ObjectStore;
  receiver: WebhookReceiver;
  /** The receiver's signing secret (whsec_…). */
  webhookSecret: string;
  worker?: BuiltWorker;
  s3Events: LocalS3EventSource;
  /** The ingest handler as wired here (tests re-deliver events through it). */
  ingest: ReturnType<typeof createIngestHandler>;
  notify: SqsEventSource;
  modelVersion: string;
  /** What the start-up reconcile found (persistent stacks only). */
  reconciled?: ReconcileSummary;
  /** Stop in dependency order: no new uploads noticed, worker drains, notify drains. */
  stop(): Promise<void>;
  /** Stop and restart just the worker (crash/restart tests). */
  restartWorker(): Promise<void>;
  /** Let a held worker (`holdWorker`) take jobs. Idempotent. */
  startTaking(): void;
}

/**
 * Starts the stack in named steps: the endpoint, the bucket and queues, the webhook receiver, the
 * worker, ingest behind the S3 event source (after the start-up reconcile), notify. A step that
 * fails stops whatever the steps before it started.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = options.logger ?? createLogger('local', { silent: true });
  const host = options.host ?? LOOPBACK_HOST;
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  // Whatever started is stopped again when a later step fails (a half-started stack would keep
  // the process and its ports alive).
  const cleanups: (() => unknown)[] = [];
  try {
    const { endpoint, emulator } = await startEndpoint(options, host);
    if (emulator) cleanups.push(() => emulator.stop());
    const aws = await connect(options, endpoint);
    cleanups.push(() => aws.s3.destroy(), () => aws.sqs.destroy());
    const { receiver, webhookSecret } = await startReceiver(options, host);
    cleanups.push(() => receiver.close());
    const worker = new LocalWorker(options, aws, logger);
    cleanups.push(() => worker.stop());
    // Start the worker whether or not a model version was given (a given one only names the jobs).
    if (options.worker !== false) await worker.start();
    const modelVersion = options.modelVersion ?? worker.current?.card.version ?? 'unversioned';
    const { ingest, s3Events } = wireIngest(options, aws, modelVersion, logger);
    const reconciled = emulator?.dataDir ? await reconcileOnStart(emulator, aws, modelVersion, s3Events, logger) : undefined;
    s3Events.start();
    const notify = startNotify(options, aws, endpoint, { url: receiver.url, secret: webhookSecret }, logger);

    return {
      endpoint,
      connection: aws.connection,
      resources: aws.resources,
      s3: aws.s3,
      sqs: aws.sqs,
      store: aws.store,
      receiver,
      webhookSecret,
      get worker() {
        return worker.current;
      },
      s3Events,
      ingest,
      notify,
      modelVersion,
      ...(reconciled ? { reconciled } : {}),
      startTaking: () => worker.startTaking(),
      async restartWorker() {
        await worker.stop();
        await worker.start();
      },
      async stop() {
        await s3Events.stop();
        await worker.stop();
        await notify.stop();
        await receiver.close();
        aws.s3.destroy();
        aws.sqs.destroy();
        await emulator?.stop();
      },
    };
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw err;
  }
}

/** The S3+SQS endpoint: the one given, else the embedded emulator (its state in the data dir, if any). */
async function startEndpoint(options: LocalStackOptions, host: string): Promise<{ endpoint: string; emulator?: Emulator }> {
  if (options.endpoint) return { endpoint: options.endpoint };
  const emulator = await startEmulator({
    port: options.port ?? 0,
    host,
    ...(options.dataDir ? { dataDir: join(options.dataDir, 'emulator') } : {}),
  });
  return { endpoint: emulator.endpoint, emulator };
}

interface StackAws {
  connection: AwsConnection;
  s3: S3Client;
  sqs: SQSClient;
  resources: ProvisionedResources;
  /** The store every piece uses (`wrapStore` applied). */
  store: ObjectStore;
}

/** SDK clients for the endpoint, and the bucket, queues and DLQs the CDK stack would create. */
async function connect(options: LocalStackOptions, endpoint: string): Promise<StackAws> {
  const connection: AwsConnection = { region: options.region ?? 'us-east-1', endpoint };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  try {
    const resources = await provisionResources(s3, sqs, {
      ...(options.maxReceiveCount ? { maxReceiveCount: options.maxReceiveCount } : {}),
      ...(options.visibilitySeconds ? { visibilitySeconds: options.visibilitySeconds } : {}),
    });
    const unwrapped = options.overrides?.store ?? new S3ObjectStore(s3);
    const store = options.wrapStore ? options.wrapStore(unwrapped) : unwrapped;
    return { connection, s3, sqs, resources, store };
  } catch (err) {
    s3.destroy();
    sqs.destroy();
    throw err;
  }
}

/** The built-in webhook receiver, with its secret (kept in the data dir) and its deliveries file. */
async function startReceiver(options: LocalStackOptions, host: string): Promise<{ receiver: WebhookReceiver; webhookSecret: string }> {
  const webhookSecret = options.webhookSecret ?? (await receiverSecret(options.dataDir));
  const webhooksJsonl = options.webhooksJsonl ?? (options.dataDir ? join(options.dataDir, 'webhooks.jsonl') : undefined);
  const receiver = await startWebhookReceiver({
    secret: webhookSecret,
    host,
    ...(webhooksJsonl ? { jsonlPath: webhooksJsonl } : {}),
  });
  return { receiver, webhookSecret };
}

/** The segment worker in this process: built on start, held (`holdWorker`) until `startTaking`. */
class LocalWorker {
  current: BuiltWorker | undefined;
  private run: Promise<void> | undefined;
  private held: boolean;

  constructor(
    private readonly options: LocalStackOptions,
    private readonly aws: StackAws,
    private readonly logger: Logger,
  ) {
    this.held = options.holdWorker === true;
  }

  async start(): Promise<void> {
    const { options, aws } = this;
    const settings = {
      connection: aws.connection,
      bucket: aws.resources.bucket,
      jobsQueueUrl: aws.resources.jobsQueueUrl,
      eventsQueueUrl: aws.resources.eventsQueueUrl,
      maxBytes: DEFAULT_MAX_UPLOAD_BYTES,
      maxPixels: DEFAULT_MAX_INPUT_PIXELS,
      batchSize: options.batchSize ?? 4,
      threads: options.threads ?? 0,
      provider: options.provider ?? 'auto',
      ...(options.modelCard ? { modelCard: options.modelCard } : {}),
      ...(options.maxReceiveCount ? { maxReceiveCount: options.maxReceiveCount } : {}),
      ...(options.visibilitySeconds ? { visibilitySeconds: options.visibilitySeconds } : {}),
      ...(options.retryBaseSeconds !== undefined ? { retryBaseSeconds: options.retryBaseSeconds } : {}),
    };
    this.current = await buildWorker(settings, this.logger, options.wrapStore ? { ...options.overrides, store: aws.store } : (options.overrides ?? {}));
    if (!this.held) this.run = this.current.worker.run();
  }

  /** Let a held worker take jobs. Idempotent. */
  startTaking(): void {
    if (!this.held) return;
    this.held = false;
    if (this.current) this.run = this.current.worker.run();
  }

  /** Takes no new job, lets the jobs in hand finish, releases the model. */
  async stop(): Promise<void> {
    this.current?.worker.stop();
    await this.run;
    await this.current?.session.release();
  }
}

/** The ingest handler, invoked by the local S3 event source for every new or changed upload. */
function wireIngest(options: LocalStackOptions, aws: StackAws, modelVersion: string, logger: Logger) {
  const ingest = createIngestHandler({
    queue: options.overrides?.jobs ?? new SqsMessageQueue<SegmentJob>(aws.sqs, aws.resources.jobsQueueUrl),
    store: aws.store,
    clock: systemClock,
    modelVersion,
    maxBytes: DEFAULT_MAX_UPLOAD_BYTES,
    acceptPrefix: INPUT_PREFIX,
    // Output options: profiles by prefix (option, else GREENSCREEN_OUTPUT_PROFILES), overridden by
    // each object's x-amz-meta-greenscreen-* metadata, as on AWS.
    profiles: options.profiles ?? parseProfiles(process.env[ENV.outputProfiles]),
    metadata: headMetadata(aws.store),
    logger,
  });
  const s3Events = new LocalS3EventSource(aws.store, ingest, {
    bucket: aws.resources.bucket,
    prefix: INPUT_PREFIX,
    region: aws.connection.region,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    onError: (key, err) => logger.warn('ingest invocation failed; will retry', { objectKey: key, error: (err as Error).message }),
  });
  return { ingest, s3Events };
}

/** A persistent stack's start-up reconcile: uploads with a result or a queued job are not handed to ingest again. */
async function reconcileOnStart(emulator: Emulator, aws: StackAws, modelVersion: string, s3Events: LocalS3EventSource, logger: Logger): Promise<ReconcileSummary> {
  const reconciled = await reconcileInputs({
    store: aws.store,
    bucket: aws.resources.bucket,
    prefix: INPUT_PREFIX,
    modelVersion,
    queued: queuedJobs(emulator),
    settled: (key, etag) => s3Events.markSeen(key, etag),
  });
  reconciled.released = emulator.released;
  logger.info('reconciled the input prefix against the results', { ...reconciled });
  return reconciled;
}

/** The notify handler, driven like Lambda's SQS event source mapping; the built-in receiver is always subscribed. */
function startNotify(options: LocalStackOptions, aws: StackAws, endpoint: string, receiver: { url: string; secret: string }, logger: Logger): SqsEventSource {
  const subscriptions = [{ prefix: '', url: receiver.url, secrets: [receiver.secret] }, ...(options.subscriptions ?? [])];
  const handler = createNotifyHandler(
    notifyDepsFromEnv(
      {
        [ENV.endpoint]: endpoint,
        [ENV.region]: aws.connection.region,
        [ENV.subscriptions]: JSON.stringify(subscriptions),
        [ENV.allowLoopbackWebhooks]: 'true',
        [ENV.allowHttpWebhooks]: 'true',
        [ENV.eventsQueueUrl]: aws.resources.eventsQueueUrl,
      },
      logger,
    ),
  );
  return startSqsEventSource({
    sqs: aws.sqs,
    queueUrl: aws.resources.eventsQueueUrl,
    handler: options.wrapNotify ? options.wrapNotify(handler) : handler,
    region: aws.connection.region,
    logger,
    waitTimeSeconds: 2,
  });
}

/** The built-in receiver's secret: kept in the data dir (owner-only) so it survives restarts. */
async function receiverSecret(dataDir: string | undefined): Promise<string> {
  const fresh = () => `whsec_${randomBytes(24).toString('base64')}`;
  if (!dataDir) return fresh();
  const file = join(dataDir, 'webhook-secret');
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (kept.startsWith('whsec_')) return kept;
  const secret = fresh();
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * The jobs waiting in the jobs queue (ready, delayed, or already received by this process's worker),
 * which the reconcile must not hand to ingest again. Messages the previous process had in flight
 * were made ready before the emulator loaded them (releaseInFlightOnDisk).
 */
function queuedJobs(emulator: Emulator): QueuedJob[] {
  const state = emulator.server.inspectQueue(RESOURCE_DEFAULTS.jobsQueue.name);
  if (!state) return [];
  const queued: QueuedJob[] = [];
  for (const m of [...state.messages.ready, ...state.messages.delayed, ...state.messages.inflight.map((e) => e.message)]) {
    try {
      const job = JSON.parse(m.body) as Partial<SegmentJob>;
      if (job.source?.key && job.source.etag) queued.push({ key: job.source.key, etag: job.source.etag });
    } catch {
      // not a job: the worker records it as such
    }
  }
  return queued;
}

/**
 * `greenscreen reprocess` — re-run a prefix after a model upgrade.
 *   local / S3-compatible: list + stale check + enqueue here, resumable (functions/reprocess/reprocess.ts)
 *   --aws: create an S3 Batch Operations job that invokes the ingest function (functions/reprocess/batch-job.ts)
 */
import { parseProfiles } from '#core/output-options';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsJobQueue } from '#core/adapters/sqs-job-queue';
import { DEFAULT_MAX_UPLOAD_BYTES, ENV } from '#core/config';
import { ConfigError, PipelineError } from '#core/errors';
import { systemClock } from '#core/ports';
import { DEFAULT_ENDPOINT, RESOURCE_DEFAULTS } from '#core/resources';
import type { SegmentJob } from '#core/types';
import { STACK_OUTPUTS, stackOutputs } from '#reprocess/adapters/cloudformation-outputs';
import { S3ControlBatchJobs } from '#reprocess/adapters/s3-control-batch-jobs';
import { batchReprocessStatus, startBatchReprocess, type BatchJobDescription } from '#reprocess/batch-job';
import { acquireLock, FileCheckpointStore, ReadOnlyCheckpointStore, type RunIdentity } from '#reprocess/checkpoint';
import { TokenBucket } from '#reprocess/rate-limiter';
import { reprocessPrefix, type ReprocessSummary } from '#reprocess/reprocess';
import type { StaleCheckMode } from '#reprocess/stale-check';
import { cardPathFor } from '#segment/model-card';
import { EXIT, EXIT_STATUS_HELP } from './exit-codes.ts';
import { ensureOutDir, OutDirError } from './files.ts';
import { Progress } from './progress.ts';

/** Environment variables read by `reprocess --aws` when the flags are not given. */
export const REPROCESS_ENV = {
  roleArn: 'GREENSCREEN_BATCH_ROLE_ARN',
  functionArn: 'GREENSCREEN_INGEST_FUNCTION_ARN',
} as const;

/** The CDK stack's name (infra/lib/pipeline-app.ts STACK_NAME). */
export const DEFAULT_STACK = 'Greenscreen';
export const DEFAULT_CHECKPOINT_DIR = '.greenscreen/reprocess';

const USAGE = `greenscreen reprocess — re-run photos after a model upgrade (stale ones only, unless --force)

Local stack or any S3/SQS-compatible endpoint (lists and enqueues from here, resumable):
  greenscreen reprocess --prefix <p> [--force] [--model V] [--dry-run] [--concurrency 8] [--rate R]
      [--endpoint ${DEFAULT_ENDPOINT}] [--bucket ${RESOURCE_DEFAULTS.bucketName}] [--queue-url URL]
      [--stale-check index|head] [--page-size 1000] [--restart] [--checkpoint-dir ${DEFAULT_CHECKPOINT_DIR}]
      [--quiet] [--json]

AWS (creates an S3 Batch Operations job that invokes the ingest function for every object):
  greenscreen reprocess --aws --prefix <p> [--manifest s3://bucket/key.csv | s3://bucket/…/manifest.json]
      [--role-arn ARN] [--function-arn ARN] [--bucket B] [--stack ${DEFAULT_STACK}] [--region R]
      [--force] [--model V] [--priority 10] [--dry-run] [--json]
      Role, function and bucket: the flag, else $${REPROCESS_ENV.roleArn} / $${REPROCESS_ENV.functionArn} /
      $${ENV.bucket}, else the stack's outputs ${STACK_OUTPUTS.roleArn} / ${STACK_OUTPUTS.functionArn} / ${STACK_OUTPUTS.bucket}.
  greenscreen reprocess --aws --status <job id> [--region R] [--json]

Options:
  --prefix P         keys to re-process (required; "" = the whole bucket). results/, manifests/ and
                     reports/ are never re-processed.
  --force            re-do objects whose result.json already records this model and source ETag.
  --model V          the jobs' model version (default: $${ENV.modelVersion}, else the shipped model card's).
                     Staleness is judged against it; the worker still runs the model it has loaded.
  --dry-run          list and check, print what would be enqueued, enqueue nothing, write no checkpoint.
  --concurrency N    SendMessageBatch calls in flight (10 jobs each); HEADs for the stale check: 4 x N.
  --rate R           at most R jobs per second (token bucket).
  --stale-check M    index (default): list the worker's results/.index/<model>/ markers, one LIST per
                     1000 objects; head: one HEAD of result.json per object.
  --restart          forget the checkpoint of this command and start a new run.
  --queue-url URL    the jobs queue (default: $${ENV.jobsQueueUrl}, else GetQueueUrl ${RESOURCE_DEFAULTS.jobsQueue.name}).

Resuming: Ctrl-C finishes the batches in flight, writes the checkpoint and exits 130; after Ctrl-C,
a crash or kill -9, running the same command again continues where it stopped. Each object is
enqueued once: see docs/reprocess.md.

--json: stdout is one JSON object (the summary, the job, or its status) and nothing else; the
dry run's "would enqueue" lines and every message go to stderr.

${EXIT_STATUS_HELP}
  reprocess: 0 when the run completed (or the Batch Operations job was created / described); 3 when
  some objects could not be enqueued (each with its reason; the run stops there: run it again to go on);
  1 when the endpoint, queue or stack cannot be reached; 130/143 when Ctrl-C/SIGTERM stopped it.
`;

const options = {
  prefix: { type: 'string' },
  force: { type: 'boolean' },
  model: { type: 'string' },
  'dry-run': { type: 'boolean' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  endpoint: { type: 'string' },
  bucket: { type: 'string' },
  'queue-url': { type: 'string' },
  'page-size': { type: 'string' },
  'stale-check': { type: 'string' },
  restart: { type: 'boolean' },
  'checkpoint-dir': { type: 'string' },
  quiet: { type: 'boolean' },
  json: { type: 'boolean' },
  aws: { type: 'boolean' },
  manifest: { type: 'string' },
  'role-arn': { type: 'string' },
  'function-arn': { type: 'string' },
  region: { type: 'string' },
  stack: { type: 'string' },
  priority: { type: 'string' },
  status: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

/** A flag value that cannot work: one line and exit 2, before anything is listed or enqueued. */
class FlagValueError extends Error {}

function positiveNumber(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new FlagValueError(`Expected --${name} to be a number above 0 but received ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  const n = positiveNumber(v, name);
  if (n !== undefined && !Number.isInteger(n)) throw new FlagValueError(`Expected --${name} to be a whole number but received ${JSON.stringify(v)}`);
  return n;
}

/** The shipped model card's version: what the local worker runs, so what local results record. */
async function defaultModelVersion(): Promise<string> {
  const fromEnv = process.env[ENV.modelVersion];
  if (fromEnv) return fromEnv;
  const card = JSON.parse(await readFile(cardPathFor('tiramisu'), 'utf8')) as { version?: string };
  if (!card.version) throw new ConfigError('Expected the model card to have a version; pass --model');
  return card.version;
}

async function resolveQueueUrl(sqs: SQSClient, given: string | undefined): Promise<string> {
  const url = given ?? process.env[ENV.jobsQueueUrl];
  if (url) return url;
  try {
    const res = await sqs.send(new GetQueueUrlCommand({ QueueName: RESOURCE_DEFAULTS.jobsQueue.name }));
    return res.QueueUrl!;
  } catch (err) {
    throw new ConfigError(
      `Expected the jobs queue ${RESOURCE_DEFAULTS.jobsQueue.name} at the endpoint (is \`greenscreen dev\` running?) or --queue-url: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function printSummary(s: ReprocessSummary, out: NodeJS.WritableStream): void {
  const session = s.dryRun
    ? `would enqueue ${s.wouldEnqueue}`
    : `enqueued ${s.enqueued}`;
  out.write(
    `${s.status}${s.dryRun ? ' (dry run)' : ''}: run ${s.runId}${s.resumedAfter !== undefined ? `, resumed after ${JSON.stringify(s.resumedAfter)}` : ''}\n` +
      `  this session: listed ${s.listed}, ${session}, skipped ${s.skipped} (up to date ${s.upToDate}, pipeline output ${s.reserved}), ` +
      `failed ${s.failed} in ${s.seconds.toFixed(1)} s (${(s.listed / Math.max(s.seconds, 1e-3)).toFixed(0)} objects/s)\n` +
      (s.dryRun ? '' : `  run totals:   listed ${s.totals.listed}, enqueued ${s.totals.enqueued}, skipped ${s.totals.skipped}\n`) +
      s.failures.map((f) => `  failed: ${f.key}: ${f.reason}\n`).join('') +
      (s.status === 'completed'
        ? ''
        : `  checkpoint ${s.checkpoint}${s.lastKey !== undefined ? ` (done through ${JSON.stringify(s.lastKey)})` : ''}: run the same command again to continue\n`),
  );
}

async function runLocal(v: Values): Promise<number> {
  const prefix = v.prefix!;
  const endpoint = v.endpoint ?? process.env[ENV.endpoint] ?? DEFAULT_ENDPOINT;
  const region = v.region ?? process.env[ENV.region] ?? 'us-east-1';
  const bucket = v.bucket ?? process.env[ENV.bucket] ?? RESOURCE_DEFAULTS.bucketName;
  const staleCheck = (v['stale-check'] ?? 'index') as StaleCheckMode;
  if (!['index', 'head'].includes(staleCheck)) {
    throw new FlagValueError(`Expected --stale-check index or head but received ${JSON.stringify(v['stale-check'])}`);
  }
  const concurrency = positiveInt(v.concurrency, 'concurrency') ?? 8;
  const rate = positiveNumber(v.rate, 'rate');
  const pageSize = positiveInt(v['page-size'], 'page-size');
  const modelVersion = v.model ?? (await defaultModelVersion());
  const force = v.force ?? false;
  const dryRun = v['dry-run'] ?? false;
  const quiet = v.quiet ?? false;

  const checkpointDir = v['checkpoint-dir'] ?? DEFAULT_CHECKPOINT_DIR;
  if (!dryRun) {
    // A folder that cannot be made (e.g. under /proc, where a recursive mkdir never returns): refused now.
    await ensureOutDir(checkpointDir, '--checkpoint-dir').catch((err: unknown) => {
      throw err instanceof OutDirError ? new FlagValueError(err.message) : err;
    });
  }

  const conn = { region, endpoint };
  const s3 = createS3Client(conn);
  const sqs = createSqsClient(conn);
  // First Ctrl-C (or SIGTERM): stop taking work, finish the batches in flight, write the
  // checkpoint, exit 130 (143). A second one quits at once: the last checkpoint written stands.
  const ctl = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) process.exit(received === 'SIGTERM' ? 143 : 130);
    received = sig;
    process.stderr.write(`\n${sig}: finishing the batches in flight and writing the checkpoint (again to quit now)…\n`);
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let release: (() => Promise<void>) | undefined;
  try {
    const queueUrl = await resolveQueueUrl(sqs, v['queue-url']);
    const identity: RunIdentity = { endpoint, bucket, prefix, modelVersion, force, queueUrl };
    const fileStore = new FileCheckpointStore(checkpointDir, identity);
    if (!dryRun) release = await acquireLock(fileStore.location);
    const progress = new Progress(dryRun ? 'checking' : 'reprocessing', undefined, process.stderr, quiet || (v.json ?? false));
    const summary = await reprocessPrefix(
      {
        store: new S3ObjectStore(s3),
        queue: new SqsJobQueue<SegmentJob>(sqs, queueUrl),
        clock: systemClock,
        checkpoints: dryRun ? new ReadOnlyCheckpointStore(fileStore) : fileStore,
        ...(rate ? { limiter: new TokenBucket(rate, { clock: systemClock, burst: Math.max(10, rate) }) } : {}),
        onProgress: (p) => {
          if (p.listingDone) progress.setTotal(p.listed);
          progress.update(p.enqueued + p.wouldEnqueue + p.skipped + p.failed, {
            listed: p.listed,
            [dryRun ? 'would enqueue' : 'enqueued']: dryRun ? p.wouldEnqueue : p.enqueued,
            skipped: p.skipped,
            failed: p.failed,
          });
        },
        onWouldEnqueue: (j) => (v.json ? process.stderr : process.stdout).write(`would enqueue s3://${bucket}/${j.key} (job ${j.jobId})\n`),
      },
      {
        bucket,
        prefix,
        modelVersion,
        maxBytes: Number(process.env[ENV.maxUploadBytes] ?? DEFAULT_MAX_UPLOAD_BYTES),
        profiles: parseProfiles(process.env[ENV.outputProfiles]),
        force,
        dryRun,
        restart: v.restart ?? false,
        concurrency,
        staleCheck,
        signal: ctl.signal,
        ...(pageSize ? { pageSize } : {}),
      },
    );
    progress.done();
    if (v.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else printSummary(summary, quiet ? process.stderr : process.stdout);
    if (summary.status === 'interrupted') return received === 'SIGTERM' ? 143 : 130;
    return summary.status === 'completed' ? EXIT.ok : EXIT.failed;
  } finally {
    await release?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    s3.destroy();
    sqs.destroy();
  }
}

function printStatus(d: BatchJobDescription, out: NodeJS.WritableStream): void {
  out.write(
    `job ${d.jobId}: ${d.status}${d.description ? ` — ${d.description}` : ''}\n` +
      `  tasks: ${d.succeeded + d.failed}/${d.total} (${d.percent.toFixed(1)}%), ${d.succeeded} succeeded, ${d.failed} failed` +
      `${d.elapsedSeconds !== undefined ? `, ${d.elapsedSeconds} s active` : ''}\n` +
      d.failureReasons.map((r) => `  failure: ${r}\n`).join('') +
      (d.report ? `  completion report: ${d.report}\n` : ''),
  );
}

async function runAws(v: Values): Promise<number> {
  const region = v.region ?? process.env[ENV.region] ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const s3control = new S3ControlClient({ region });
  const sts = new STSClient({ region });
  const s3 = createS3Client({ region });
  const jobs = new S3ControlBatchJobs(s3control, sts);
  try {
    if (v.status) {
      const d = await batchReprocessStatus(jobs, v.status);
      if (v.json) process.stdout.write(`${JSON.stringify(d)}\n`);
      else printStatus(d, process.stdout);
      return 0;
    }
    let bucket = v.bucket ?? process.env[ENV.bucket];
    let roleArn = v['role-arn'] ?? process.env[REPROCESS_ENV.roleArn];
    let functionArn = v['function-arn'] ?? process.env[REPROCESS_ENV.functionArn];
    if (!bucket || !roleArn || !functionArn) {
      const cfn = new CloudFormationClient({ region });
      try {
        const outputs = await stackOutputs(cfn, v.stack ?? DEFAULT_STACK);
        bucket ??= outputs[STACK_OUTPUTS.bucket];
        roleArn ??= outputs[STACK_OUTPUTS.roleArn];
        functionArn ??= outputs[STACK_OUTPUTS.functionArn];
      } finally {
        cfn.destroy();
      }
    }
    if (!bucket) throw new ConfigError(`Expected --bucket, $${ENV.bucket} or the stack output ${STACK_OUTPUTS.bucket} but found none`);
    const progress = new Progress('listing for the manifest', undefined, process.stderr, v.quiet || v.json || !!v.manifest);
    const priority = positiveInt(v.priority, 'priority');
    const pageSize = positiveInt(v['page-size'], 'page-size');
    const res = await startBatchReprocess(
      { jobs, store: new S3ObjectStore(s3), clock: systemClock, onListed: (n) => progress.update(n) },
      {
        bucket,
        prefix: v.prefix!,
        force: v.force ?? false,
        ...(v.model ? { modelVersion: v.model } : {}),
        ...(v.manifest ? { manifest: v.manifest } : {}),
        roleArn: roleArn ?? '',
        functionArn: functionArn ?? '',
        ...(priority ? { priority } : {}),
        ...(pageSize ? { pageSize } : {}),
        dryRun: v['dry-run'] ?? false,
      },
    );
    progress.done();
    if (v.json) process.stdout.write(`${JSON.stringify(res)}\n`);
    else if (!res.jobId) {
      process.stdout.write(`dry run: would create this Batch Operations job (manifest not uploaded):\n${JSON.stringify(res.input, null, 2)}\n`);
    } else {
      process.stdout.write(
        `created Batch Operations job ${res.jobId} (run ${res.runId})\n` +
          `  manifest: s3://${res.manifest.bucket}/${res.manifest.key}${res.manifest.objects !== undefined ? ` (${res.manifest.objects} objects)` : ''}\n` +
          `  progress: greenscreen reprocess --aws --status ${res.jobId}${v.region ? ` --region ${v.region}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    s3control.destroy();
    sts.destroy();
    s3.destroy();
  }
}

export async function reprocessCommand(args: string[]): Promise<number> {
  let v: Values;
  try {
    v = parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    const message = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    process.stderr.write(`greenscreen reprocess: ${message}; see \`greenscreen reprocess --help\`\n\nUsage: greenscreen reprocess --prefix <p> [options]\n\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (v.status && !v.aws) {
    process.stderr.write('greenscreen reprocess: Expected --aws with --status <job id> (local runs report progress as they go)\n');
    return EXIT.usage;
  }
  if (v.prefix === undefined && !v.status) {
    process.stderr.write(`greenscreen reprocess: Expected --prefix <p> (use --prefix "" for the whole bucket)\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return v.aws ? await runAws(v) : await runLocal(v);
  } catch (err) {
    if (err instanceof FlagValueError) {
      process.stderr.write(`greenscreen reprocess: ${err.message}; see \`greenscreen reprocess --help\`\n`);
      return EXIT.usage;
    }
    const e = err instanceof PipelineError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`greenscreen reprocess: ${e}\n`);
    return 1;
  }
}

/**
 * `greenscreen reprocess` — re-run a prefix after a model upgrade.
 *   local / S3-compatible: list + stale check + enqueue here, resumable (functions/reprocess/reprocess.ts)
 *   --aws: create an S3 Batch Operations job that invokes the ingest function (functions/reprocess/batch-job.ts)
 */
import { parseProfiles } from '#core/output-options';
import { readFile } from 'node:fs/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
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
import { choiceFlag, commandHelp, intFlag, parseCommand, positiveFlag, stringFlag, urlFlag, UsageError, type CommandSpec, type Parsed } from './args.ts';
import { EXIT } from './exit-codes.ts';
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
const STALE_CHECKS = ['index', 'head'] as const;

export const REPROCESS_COMMAND = {
  name: 'reprocess',
  args: '--prefix <p>',
  summary: `Re-run photos after a model upgrade (stale ones only, unless --force).

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
  greenscreen reprocess --aws --status <job id> [--region R] [--json]`,
  flags: {
    prefix: { type: 'string', value: 'P', help: 'keys to re-process (required; "" = the whole bucket); results/, manifests/ and reports/ never are' },
    force: { type: 'boolean', help: "re-do objects whose result.json already records this model and source ETag" },
    model: {
      type: 'string',
      value: 'V',
      default: `$${ENV.modelVersion}, else the shipped model card's`,
      help: "the jobs' model version: staleness is judged against it (the worker still runs the model it has loaded)",
    },
    'dry-run': { type: 'boolean', help: 'list and check, print what would be enqueued, enqueue nothing, write no checkpoint' },
    concurrency: { type: 'string', value: 'N', default: '8', help: 'SendMessageBatch calls in flight (10 jobs each); HEADs for the stale check: 4 x N' },
    rate: { type: 'string', value: 'R', help: 'at most R jobs per second (token bucket)' },
    endpoint: { type: 'string', value: 'URL', default: `$${ENV.endpoint}, else ${DEFAULT_ENDPOINT}`, help: 'the S3+SQS endpoint (local runs)' },
    bucket: { type: 'string', value: 'B', default: `$${ENV.bucket}, else ${RESOURCE_DEFAULTS.bucketName}`, help: 'the uploads bucket' },
    'queue-url': { type: 'string', value: 'URL', default: `$${ENV.jobsQueueUrl}, else GetQueueUrl ${RESOURCE_DEFAULTS.jobsQueue.name}`, help: 'the jobs queue' },
    'stale-check': {
      type: 'string',
      value: 'index|head',
      default: 'index',
      help: "index: list the worker's results/.index/<model>/ markers, one LIST per 1000 objects; head: one HEAD of result.json per object",
    },
    'page-size': { type: 'string', value: 'N', default: '1000', help: 'keys per ListObjectsV2 call' },
    restart: { type: 'boolean', help: 'forget the checkpoint of this command and start a new run' },
    'checkpoint-dir': { type: 'string', value: 'DIR', default: DEFAULT_CHECKPOINT_DIR, help: 'where local runs keep their checkpoints' },
    quiet: { type: 'boolean', help: 'no progress line' },
    json: { type: 'boolean', help: 'stdout: one JSON object (the summary, the job, or its status), nothing else' },
    aws: { type: 'boolean', help: 'create an S3 Batch Operations job instead of enqueueing from here' },
    manifest: { type: 'string', value: 'S3_URL', help: "--aws: a CSV or S3 Inventory manifest to use instead of listing the prefix" },
    'role-arn': { type: 'string', value: 'ARN', help: "--aws: the Batch Operations role" },
    'function-arn': { type: 'string', value: 'ARN', help: '--aws: the ingest function' },
    region: { type: 'string', value: 'R', default: `$${ENV.region}, else us-east-1`, help: 'the AWS region' },
    stack: { type: 'string', value: 'NAME', default: DEFAULT_STACK, help: '--aws: the CloudFormation stack whose outputs name the role, function and bucket' },
    priority: { type: 'string', value: 'N', default: '10', help: "--aws: the Batch Operations job's priority" },
    status: { type: 'string', value: 'JOB_ID', help: '--aws: describe a Batch Operations job instead of creating one' },
  },
  notes: `Resuming: Ctrl-C finishes the batches in flight, writes the checkpoint and exits 130; after Ctrl-C,
a crash or kill -9, running the same command again continues where it stopped. Each object is
enqueued once: see docs/reprocess.md.

--json: stdout is one JSON object (the summary, the job, or its status) and nothing else; the
dry run's "would enqueue" lines and every message go to stderr.`,
  exit:
    '  reprocess: 0 when the run completed (or the Batch Operations job was created / described); 3 when\n' +
    '  some objects could not be enqueued (each with its reason; the run stops there: run it again to go on);\n' +
    '  1 when the endpoint, queue or stack cannot be reached; 130/143 when Ctrl-C/SIGTERM stopped it.',
} as const satisfies CommandSpec;

type Values = Parsed['values'];
const spec: CommandSpec = REPROCESS_COMMAND;

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
  const prefix = stringFlag(v.prefix)!;
  const endpoint = urlFlag(spec, v.endpoint, 'endpoint') ?? process.env[ENV.endpoint] ?? DEFAULT_ENDPOINT;
  const region = stringFlag(v.region) ?? process.env[ENV.region] ?? 'us-east-1';
  const bucket = stringFlag(v.bucket) ?? process.env[ENV.bucket] ?? RESOURCE_DEFAULTS.bucketName;
  const staleCheck: StaleCheckMode = choiceFlag(spec, v['stale-check'], 'stale-check', STALE_CHECKS) ?? 'index';
  const concurrency = intFlag(spec, v.concurrency, 'concurrency') ?? 8;
  const rate = positiveFlag(spec, v.rate, 'rate');
  const pageSize = intFlag(spec, v['page-size'], 'page-size');
  const modelVersion = stringFlag(v.model) ?? (await defaultModelVersion());
  const force = v.force === true;
  const dryRun = v['dry-run'] === true;
  const quiet = v.quiet === true;
  const json = v.json === true;

  const checkpointDir = stringFlag(v['checkpoint-dir']) ?? DEFAULT_CHECKPOINT_DIR;
  if (!dryRun) {
    // A folder that cannot be made (e.g. under /proc, where a recursive mkdir never returns): refused now.
    await ensureOutDir(checkpointDir, '--checkpoint-dir').catch((err: unknown) => {
      throw err instanceof OutDirError ? new UsageError(spec, err.message, { showUsage: false, cause: err }) : err;
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
    const queueUrl = await resolveQueueUrl(sqs, stringFlag(v['queue-url']));
    const identity: RunIdentity = { endpoint, bucket, prefix, modelVersion, force, queueUrl };
    const fileStore = new FileCheckpointStore(checkpointDir, identity);
    if (!dryRun) release = await acquireLock(fileStore.location);
    const progress = new Progress(dryRun ? 'checking' : 'reprocessing', undefined, process.stderr, quiet || json);
    const summary = await reprocessPrefix(
      {
        store: new S3ObjectStore(s3),
        queue: new SqsMessageQueue<SegmentJob>(sqs, queueUrl),
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
        onWouldEnqueue: (j) => (json ? process.stderr : process.stdout).write(`would enqueue s3://${bucket}/${j.key} (job ${j.jobId})\n`),
      },
      {
        bucket,
        prefix,
        modelVersion,
        maxBytes: Number(process.env[ENV.maxUploadBytes] ?? DEFAULT_MAX_UPLOAD_BYTES),
        profiles: parseProfiles(process.env[ENV.outputProfiles]),
        force,
        dryRun,
        restart: v.restart === true,
        concurrency,
        staleCheck,
        signal: ctl.signal,
        ...(pageSize ? { pageSize } : {}),
      },
    );
    progress.done();
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
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
  const region = stringFlag(v.region) ?? process.env[ENV.region] ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const status = stringFlag(v.status);
  const manifest = stringFlag(v.manifest);
  const model = stringFlag(v.model);
  const priority = intFlag(spec, v.priority, 'priority');
  const pageSize = intFlag(spec, v['page-size'], 'page-size');
  const s3control = new S3ControlClient({ region });
  const sts = new STSClient({ region });
  const s3 = createS3Client({ region });
  const jobs = new S3ControlBatchJobs(s3control, sts);
  try {
    if (status) {
      const d = await batchReprocessStatus(jobs, status);
      if (v.json) process.stdout.write(`${JSON.stringify(d)}\n`);
      else printStatus(d, process.stdout);
      return 0;
    }
    let bucket = stringFlag(v.bucket) ?? process.env[ENV.bucket];
    let roleArn = stringFlag(v['role-arn']) ?? process.env[REPROCESS_ENV.roleArn];
    let functionArn = stringFlag(v['function-arn']) ?? process.env[REPROCESS_ENV.functionArn];
    if (!bucket || !roleArn || !functionArn) {
      const cfn = new CloudFormationClient({ region });
      try {
        const outputs = await stackOutputs(cfn, stringFlag(v.stack) ?? DEFAULT_STACK);
        bucket ??= outputs[STACK_OUTPUTS.bucket];
        roleArn ??= outputs[STACK_OUTPUTS.roleArn];
        functionArn ??= outputs[STACK_OUTPUTS.functionArn];
      } finally {
        cfn.destroy();
      }
    }
    if (!bucket) throw new ConfigError(`Expected --bucket, $${ENV.bucket} or the stack output ${STACK_OUTPUTS.bucket} but found none`);
    const progress = new Progress('listing for the manifest', undefined, process.stderr, v.quiet === true || v.json === true || !!manifest);
    const res = await startBatchReprocess(
      { jobs, store: new S3ObjectStore(s3), clock: systemClock, onListed: (n) => progress.update(n) },
      {
        bucket,
        prefix: stringFlag(v.prefix)!,
        force: v.force === true,
        ...(model ? { modelVersion: model } : {}),
        ...(manifest ? { manifest } : {}),
        roleArn: roleArn ?? '',
        functionArn: functionArn ?? '',
        ...(priority ? { priority } : {}),
        ...(pageSize ? { pageSize } : {}),
        dryRun: v['dry-run'] === true,
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

/**
 * `greenscreen reprocess …`: the command line is parsed and checked like every other command's
 * (./args.ts: a usage error is thrown for main to print, exit 2); other failures print one line here.
 */
export async function reprocessCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(spec, args);
  if (v.help) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(spec, `Expected no arguments but received ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  if (v.status && !v.aws) {
    throw new UsageError(spec, 'Expected --aws with --status <job id> (local runs report progress as they go)', { showUsage: false });
  }
  if (v.prefix === undefined && !v.status) throw new UsageError(spec, 'Expected --prefix <p> (use --prefix "" for the whole bucket)');
  try {
    return v.aws ? await runAws(v) : await runLocal(v);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err instanceof PipelineError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`greenscreen reprocess: ${e}\n`);
    return 1;
  }
}

/**
 * Bulk re-processing in AWS: an S3 Batch Operations job that invokes the ingest function for every
 * object of a manifest (invocation schema 2.0, user arguments force/model/prefix). The function
 * runs the same enqueue use case as S3 events and answers per task (#ingest/batch-operations).
 * Batch Operations brings the rest: retries of TemporaryFailure tasks, progress, a completion
 * report, and a job that survives the machine that started it.
 */
import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { ConfigError } from '#core/errors';
import type { Clock, ObjectStore } from '#core/ports';
import { MANIFESTS_PREFIX, REPORTS_PREFIX, isReservedKey } from '#core/resources';
import { BATCH_USER_ARGUMENTS } from '#ingest/batch-operations';
import { listPrefix } from './lister.ts';
import { manifestLine, parseManifestUrl, s3BucketArn, s3ObjectArn, type ManifestFormat } from './manifest.ts';
import { newRunId } from './reprocess.ts';

export interface BatchJobDescription {
  jobId: string;
  status: string;
  description?: string;
  total: number;
  succeeded: number;
  failed: number;
  /** (succeeded + failed) / total, 0..100. */
  percent: number;
  elapsedSeconds?: number;
  failureReasons: string[];
  /** s3://bucket/prefix of the completion report. */
  report?: string;
}

/** S3 Control + STS, as far as re-processing needs them (adapters/s3-control-batch-jobs.ts). */
export interface BatchJobs {
  /** The caller's account id (STS GetCallerIdentity): S3 Control wants it on every call. */
  accountId(): Promise<string>;
  /** CreateJob; returns the job id. */
  createJob(input: CreateJobCommandInput): Promise<string>;
  describeJob(accountId: string, jobId: string): Promise<BatchJobDescription>;
}

export interface BatchReprocessDeps {
  jobs: BatchJobs;
  store: ObjectStore;
  clock: Clock;
  newRunId?: () => string;
  /** Called as the listing for a generated manifest goes (objects so far). */
  onListed?: (objects: number) => void;
}

export interface BatchReprocessOptions {
  bucket: string;
  prefix: string;
  force: boolean;
  /** Passed as the `model` user argument; unset = the function's own GREENSCREEN_MODEL_VERSION. */
  modelVersion?: string;
  /** s3://bucket/key.csv (Bucket,Key) or s3://…/manifest.json (S3 Inventory); unset = generate. */
  manifest?: string;
  /** The role Batch Operations assumes: lambda:InvokeFunction, s3:GetObject on the manifest, s3:PutObject on reports/. */
  roleArn: string;
  /** The ingest function. */
  functionArn: string;
  priority?: number;
  pageSize?: number;
  /** Build everything, upload nothing, create nothing. */
  dryRun?: boolean;
}

export interface BatchReprocessResult {
  runId: string;
  /** Undefined on a dry run. */
  jobId?: string;
  manifest: { bucket: string; key: string; etag: string; format: ManifestFormat; objects?: number };
  input: CreateJobCommandInput;
}

/** Report_CSV_20180820 lands at s3://<bucket>/reports/job-<id>/… */
const REPORT_PREFIX = REPORTS_PREFIX.replace(/\/$/, '');

async function generateManifest(deps: BatchReprocessDeps, options: BatchReprocessOptions, runId: string) {
  const chunks: string[] = [];
  let objects = 0;
  for await (const page of listPrefix(deps.store, options.bucket, options.prefix, options.pageSize ? { pageSize: options.pageSize } : {})) {
    for (const o of page.objects) {
      if (isReservedKey(o.key) || o.key.endsWith('/')) continue;
      chunks.push(manifestLine(options.bucket, o.key));
      objects++;
    }
    deps.onListed?.(objects);
  }
  if (objects === 0) {
    throw new ConfigError(`Expected objects to re-process under s3://${options.bucket}/${options.prefix} but found none`);
  }
  const key = `${MANIFESTS_PREFIX}${runId}.csv`;
  const body = Buffer.from(chunks.join(''), 'utf8');
  const etag = options.dryRun
    ? '(dry run: not uploaded)'
    : (await deps.store.put(options.bucket, key, body, { contentType: 'text/csv' })).etag;
  return { bucket: options.bucket, key, etag, format: 'S3BatchOperations_CSV_20180820' as const, objects };
}

async function existingManifest(deps: BatchReprocessDeps, url: string) {
  const ref = parseManifestUrl(url);
  const head = await deps.store.head(ref.bucket, ref.key);
  if (!head) throw new ConfigError(`Expected the manifest ${url} to exist but it was not found`);
  return { ...ref, etag: head.etag };
}

export function createJobInput(
  accountId: string,
  runId: string,
  manifest: BatchReprocessResult['manifest'],
  options: BatchReprocessOptions,
): CreateJobCommandInput {
  const userArguments: Record<string, string> = { [BATCH_USER_ARGUMENTS.force]: String(options.force) };
  if (options.modelVersion) userArguments[BATCH_USER_ARGUMENTS.model] = options.modelVersion;
  // A generated manifest holds only the prefix; an inventory or a given CSV may hold more.
  if (options.manifest && options.prefix) userArguments[BATCH_USER_ARGUMENTS.prefix] = options.prefix;
  const flags = `${options.force ? ' --force' : ''}${options.modelVersion ? ` --model ${options.modelVersion}` : ''}`;
  return {
    AccountId: accountId,
    ConfirmationRequired: false,
    Operation: {
      LambdaInvoke: {
        FunctionArn: options.functionArn,
        InvocationSchemaVersion: '2.0',
        UserArguments: userArguments,
      },
    },
    Manifest: {
      Spec:
        manifest.format === 'S3BatchOperations_CSV_20180820'
          ? { Format: manifest.format, Fields: ['Bucket', 'Key'] }
          : { Format: manifest.format },
      Location: { ObjectArn: s3ObjectArn(manifest.bucket, manifest.key), ETag: manifest.etag },
    },
    Report: {
      Bucket: s3BucketArn(options.bucket),
      Prefix: REPORT_PREFIX,
      Format: 'Report_CSV_20180820',
      Enabled: true,
      ReportScope: 'AllTasks',
    },
    Priority: options.priority ?? 10,
    RoleArn: options.roleArn,
    // Idempotency: a retried CreateJob with the same token does not start a second job.
    ClientRequestToken: runId,
    Description: `greenscreen reprocess s3://${options.bucket}/${options.prefix}${flags} (${runId})`.slice(0, 256),
  };
}

/** Upload or locate the manifest, then CreateJob. */
export async function startBatchReprocess(deps: BatchReprocessDeps, options: BatchReprocessOptions): Promise<BatchReprocessResult> {
  if (!options.roleArn) {
    throw new ConfigError(
      'Expected a Batch Operations role ARN (--role-arn, GREENSCREEN_BATCH_ROLE_ARN or the stack output BatchOperationsRoleArn) but received none',
    );
  }
  if (!options.functionArn) {
    throw new ConfigError(
      'Expected the ingest function ARN (--function-arn, GREENSCREEN_INGEST_FUNCTION_ARN or the stack output IngestFunctionArn) but received none',
    );
  }
  const accountId = await deps.jobs.accountId();
  const runId = (deps.newRunId ?? (() => newRunId(deps.clock)))();
  const manifest = options.manifest ? await existingManifest(deps, options.manifest) : await generateManifest(deps, options, runId);
  const input = createJobInput(accountId, runId, manifest, options);
  if (options.dryRun) return { runId, manifest, input };
  const jobId = await deps.jobs.createJob(input);
  return { runId, jobId, manifest, input };
}

export async function batchReprocessStatus(jobs: BatchJobs, jobId: string): Promise<BatchJobDescription> {
  return jobs.describeJob(await jobs.accountId(), jobId);
}

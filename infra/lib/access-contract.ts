/**
 * What each role the stack deploys is used for, call by call: the contract its IAM policies must
 * meet exactly. test/infra/access-contract.test.ts evaluates every row against the synthesized
 * policies with an offline IAM simulator (allowed), and probes every other action and resource the
 * pipeline knows (denied), so a grant nobody calls, or a call nobody granted, fails the tests.
 *
 * Why a contract test: the local emulator answers every call whatever the policies say, and answers
 * 404 for a missing key where S3 answers 403 unless the caller may list the bucket (HeadObject and
 * GetObject, "Permissions"). Code that treats "not found" as an answer (is there a result yet?)
 * therefore needs s3:ListBucket, limited here with s3:prefix to the prefixes it looks in: for such a
 * request S3 evaluates ListBucket with the object key as s3:prefix, so `results/*` covers a HEAD of
 * results/<key>/result.json and lists nothing outside results/.
 *
 * Plain data: the constructs in infra/lib/constructs write their own policy statements; this file is
 * the independent statement of what the code needs, kept next to the code it describes.
 *
 * Not in the table: roles CDK and AWS services use for themselves (the ECS task execution role,
 * the GPU instances' ECS agent role, CDK's custom resources); test/infra/iam.test.ts pins those.
 * Versioned reads (s3:GetObjectVersion) are not granted to ingest or the worker: the uploads bucket
 * is not versioned, so S3 events and manifests carry no version id.
 */
import { BACKGROUNDS_PREFIX, INPUT_PREFIX, MANIFESTS_PREFIX, REPORTS_PREFIX, RESULTS_PREFIX } from '#core/resources';

export type ContractRole = 'ingest' | 'notify' | 'worker' | 'batchOperations';

export type QueueName = 'jobs' | 'events' | 'ingestFailures';

/** A resource of the stack, by what it is to the pipeline. */
export type ContractResource =
  | { kind: 'objects'; prefix: string }
  | { kind: 'bucket' }
  | { kind: 'queue'; queue: QueueName }
  | { kind: 'secret' }
  | { kind: 'function'; fn: 'ingest' }
  | { kind: 'logGroup'; of: 'ingest' | 'notify' };

export interface AccessRow {
  role: ContractRole;
  action: string;
  resource: ContractResource;
  /** s3:ListBucket: allowed only when the request's s3:prefix starts with this. */
  listPrefix?: string;
  /** Who makes the call: the module (our code) or the AWS service acting with the role. */
  caller: string;
  why: string;
}

/** Construct paths (below the stack) of the roles and resources the rows name. */
export const CONTRACT_ROLES: Record<ContractRole, string> = {
  ingest: 'Ingest/Handler/Role',
  notify: 'Notify/Handler/Role',
  worker: 'Segment/Task/TaskRole',
  batchOperations: 'BatchOperations/Role',
};

export const CONTRACT_PATHS = {
  bucket: 'Storage/Uploads',
  queues: { jobs: 'Jobs/Queue', events: 'Events/Queue', ingestFailures: 'Ingest/Failures' } satisfies Record<QueueName, string>,
  secret: 'Notify/Subscriptions',
  functions: { ingest: 'Ingest/Handler/Function' },
  logGroups: { ingest: 'Ingest/Handler/Logs', notify: 'Notify/Handler/Logs' },
} as const;

const objects = (prefix: string): ContractResource => ({ kind: 'objects', prefix });
const bucket: ContractResource = { kind: 'bucket' };
const queue = (name: QueueName): ContractResource => ({ kind: 'queue', queue: name });

const LAMBDA_LOGS = (role: 'ingest' | 'notify'): AccessRow[] =>
  (['logs:CreateLogStream', 'logs:PutLogEvents'] as const).map((action) => ({
    role,
    action,
    resource: { kind: 'logGroup', of: role },
    caller: 'Lambda runtime',
    why: 'the function writes its logs to its own log group',
  }));

export const ACCESS_CONTRACT: readonly AccessRow[] = [
  // ---- ingest: S3 upload events and S3 Batch Operations tasks -> jobs --------------------------
  ...LAMBDA_LOGS('ingest'),
  { role: 'ingest', action: 'sqs:SendMessage', resource: queue('jobs'), caller: 'functions/ingest/enqueue.ts (SqsMessageQueue.sendBatch: SendMessageBatch)', why: 'enqueue segment jobs' },
  { role: 'ingest', action: 'sqs:SendMessage', resource: queue('ingestFailures'), caller: 'Lambda asynchronous invocation (on-failure destination)', why: 'park an S3 event that failed 3 times' },
  { role: 'ingest', action: 's3:GetObject', resource: objects(INPUT_PREFIX), caller: 'functions/ingest/enqueue.ts, batch-operations.ts (HeadObject)', why: "an upload's size, ETag and greenscreen-* metadata" },
  { role: 'ingest', action: 's3:GetObject', resource: objects(RESULTS_PREFIX), caller: 'functions/core/results.ts isUpToDate (HeadObject result.json)', why: 'Batch Operations skips photos whose result is up to date' },
  { role: 'ingest', action: 's3:ListBucket', resource: bucket, listPrefix: INPUT_PREFIX, caller: 'functions/ingest/enqueue.ts, batch-operations.ts (HeadObject)', why: 'an upload deleted before ingest ran must read as 404 (no metadata; "not found"), not 403' },
  { role: 'ingest', action: 's3:ListBucket', resource: bucket, listPrefix: RESULTS_PREFIX, caller: 'functions/core/results.ts isUpToDate (HeadObject result.json)', why: 'a photo with no result yet (every new one) must read as 404 (stale: enqueue), not 403' },

  // ---- segment worker (ECS task role) ----------------------------------------------------------
  { role: 'worker', action: 'sqs:ReceiveMessage', resource: queue('jobs'), caller: 'functions/segment/worker.ts (SqsMessageQueue.receive)', why: 'long-poll jobs' },
  { role: 'worker', action: 'sqs:DeleteMessage', resource: queue('jobs'), caller: 'functions/segment/worker.ts', why: 'a job that ended (succeeded or recorded failed)' },
  { role: 'worker', action: 'sqs:ChangeMessageVisibility', resource: queue('jobs'), caller: 'functions/segment/worker.ts (extend, release)', why: 'keep jobs in work invisible; hand a job back with a retry delay' },
  { role: 'worker', action: 'sqs:SendMessage', resource: queue('events'), caller: 'functions/segment/process-job.ts (publish: SendMessageBatch)', why: 'job.succeeded / job.failed events for notify' },
  { role: 'worker', action: 's3:GetObject', resource: objects(INPUT_PREFIX), caller: 'functions/segment/process-job.ts (GetObject)', why: 'download the photo' },
  { role: 'worker', action: 's3:GetObject', resource: objects(BACKGROUNDS_PREFIX), caller: 'functions/segment/process-job.ts loadBackground (HeadObject, GetObject)', why: 'background images output options name' },
  { role: 'worker', action: 's3:GetObject', resource: objects(RESULTS_PREFIX), caller: 'functions/core/adapters/object-result-store.ts readIfCommitted (HeadObject, GetObject)', why: 'recognise a redelivered job whose result is already committed' },
  { role: 'worker', action: 's3:PutObject', resource: objects(RESULTS_PREFIX), caller: 'functions/core/adapters/object-result-store.ts (putOutput, commit)', why: 'mask, cut-out, result.json, the stale-index marker and the options record' },
  { role: 'worker', action: 's3:ListBucket', resource: bucket, listPrefix: INPUT_PREFIX, caller: 'functions/segment/process-job.ts (GetObject)', why: 'an upload deleted before its job ran must read as 404 (OBJECT_NOT_FOUND), not 403' },
  { role: 'worker', action: 's3:ListBucket', resource: bucket, listPrefix: BACKGROUNDS_PREFIX, caller: 'functions/segment/process-job.ts loadBackground (HeadObject)', why: 'a missing background must read as 404 (INVALID_OUTPUT_OPTION naming it), not 403' },
  { role: 'worker', action: 's3:ListBucket', resource: bucket, listPrefix: RESULTS_PREFIX, caller: 'functions/core/adapters/object-result-store.ts readIfCommitted (HeadObject)', why: 'before its first result a photo has no result.json: must read as 404 (do the work), not 403' },

  // ---- notify: events -> webhooks -------------------------------------------------------------
  ...LAMBDA_LOGS('notify'),
  { role: 'notify', action: 'sqs:ReceiveMessage', resource: queue('events'), caller: 'Lambda event source mapping', why: 'poll the events queue' },
  { role: 'notify', action: 'sqs:DeleteMessage', resource: queue('events'), caller: 'Lambda event source mapping', why: 'delete delivered events' },
  { role: 'notify', action: 'sqs:GetQueueAttributes', resource: queue('events'), caller: 'Lambda event source mapping', why: 'the mapping reads the queue (AWS requires it of the execution role)' },
  { role: 'notify', action: 'sqs:ChangeMessageVisibility', resource: queue('events'), caller: 'functions/notify/handler.ts (SqsMessageQueue.release)', why: 'exponential backoff before the next delivery attempt' },
  { role: 'notify', action: 'secretsmanager:GetSecretValue', resource: { kind: 'secret' }, caller: 'functions/notify/subscriptions.ts', why: 'read the webhook subscriptions' },
  { role: 'notify', action: 's3:GetObject', resource: objects(RESULTS_PREFIX), caller: 'functions/core/adapters/s3-object-store.ts presignGet', why: "presigned result URLs carry the signer's permissions" },

  // ---- S3 Batch Operations (bulk re-processing) -------------------------------------------------
  { role: 'batchOperations', action: 'lambda:InvokeFunction', resource: { kind: 'function', fn: 'ingest' }, caller: 'S3 Batch Operations', why: 'one ingest invocation per manifest entry' },
  { role: 'batchOperations', action: 's3:GetObject', resource: objects(MANIFESTS_PREFIX), caller: 'S3 Batch Operations', why: 'read the CSV manifest reprocess --aws wrote' },
  { role: 'batchOperations', action: 's3:GetObjectVersion', resource: objects(MANIFESTS_PREFIX), caller: 'S3 Batch Operations', why: 'read the manifest by version (AWS documents both for the job role)' },
  { role: 'batchOperations', action: 's3:PutObject', resource: objects(REPORTS_PREFIX), caller: 'S3 Batch Operations', why: 'write the completion report' },
  { role: 'batchOperations', action: 's3:GetBucketLocation', resource: bucket, caller: 'S3 Batch Operations', why: "locate the report bucket's region" },
];

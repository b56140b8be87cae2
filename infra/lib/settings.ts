/**
 * Deploy-time settings, read from CDK context (`cdk.json` or `-c key=value`). Every knob the
 * deploy guide (docs/deploy.md) documents is parsed here, once, with its default; a malformed
 * value fails synth with its name, like the functions' zod config does at start-up.
 */

import { parseProfiles, type OutputProfile } from '#core/output-options';

export interface PipelineSettings {
  /** `-c gpu=false`: CPU-only worker on Fargate with the CPU execution provider. */
  gpu: boolean;
  /** GPU instance type of the worker Auto Scaling group (one task, one GPU per instance). */
  instanceType: string;
  /** `-c spot=true`: Spot capacity (EC2 mixed instances policy, or FARGATE_SPOT for the CPU variant). */
  spot: boolean;
  /** Instance types the Spot mixed-instances policy may choose from (first = the launch template's). */
  spotInstanceTypes: string[];
  /** ECS GPU-optimised AMI generation. */
  ecsAmi: 'al2023' | 'al2';
  /** Upper bound of the worker service (tasks; on GPU also instances). */
  maxTasks: number;
  /** Visible jobs one task may have queued before another task is started. */
  targetBacklogPerTask: number;
  /** Images per inference batch (GREENSCREEN_BATCH_SIZE). */
  batchSize: number;
  /** CPU variant task size. */
  cpuTaskCpu: number;
  cpuTaskMemoryMiB: number;
  /** 0: workers in public subnets without inbound rules (no NAT cost); >= 1: private subnets + NAT. */
  natGateways: number;
  /** Where alarm notifications are e-mailed; none: subscribe to the topic yourself. */
  alarmEmail: string | undefined;
  /** Alarm when the oldest waiting job is older than this (covers a cold start from zero). */
  oldestJobAgeAlarmSeconds: number;
  /** results/: move to S3 Standard-IA after this many days (0: never). */
  resultsTransitionDays: number;
  /** results/: delete after this many days (0: never). */
  resultsExpirationDays: number;
  /** incoming/: delete uploads after this many days (0: never). */
  incomingExpirationDays: number;
  /** Lifetime of the presigned result URLs in webhooks (GREENSCREEN_PRESIGN_SECONDS). */
  presignSeconds: number;
  /** CloudWatch Logs retention of every log group the stack creates. */
  logRetentionDays: number;
  /** Used only when models/tiramisu.card.json is missing (see model-card.ts). */
  modelVersionFallback: string;
  /**
   * Output profiles by input prefix (#core/output-options), e.g. in cdk.json
   * `"outputProfiles": [{"prefix": "incoming/shop/", "options": {"format": "jpeg", "background": "#ffffff"}}]`
   * or `-c outputProfiles='[…]'`; checked at synth, set on ingest as GREENSCREEN_OUTPUT_PROFILES.
   */
  outputProfiles: OutputProfile[];
  /**
   * The uploads bucket's name. None (the default): CloudFormation generates a unique one, so a
   * stack destroyed (its bucket retained) and deployed again gets a new bucket instead of failing
   * on the old one's name.
   */
  bucketName: string | undefined;
  /** Reserved concurrency of the ingest function (0: none, it shares the account's pool). */
  ingestConcurrency: number;
}

export const DEFAULT_SETTINGS: PipelineSettings = {
  gpu: true,
  instanceType: 'g5.xlarge',
  spot: false,
  spotInstanceTypes: ['g5.xlarge', 'g6.xlarge', 'g4dn.xlarge'],
  ecsAmi: 'al2023',
  maxTasks: 4,
  targetBacklogPerTask: 100,
  batchSize: 4,
  cpuTaskCpu: 4096,
  cpuTaskMemoryMiB: 8192,
  natGateways: 0,
  alarmEmail: undefined,
  oldestJobAgeAlarmSeconds: 900,
  resultsTransitionDays: 30,
  resultsExpirationDays: 365,
  incomingExpirationDays: 0,
  presignSeconds: 3600,
  logRetentionDays: 30,
  modelVersionFallback: 'unversioned',
  outputProfiles: [],
  bucketName: undefined,
  ingestConcurrency: 10,
};

/** What `node.tryGetContext` gives back: strings from `-c`, JSON values from cdk.json. */
export type ContextReader = (key: string) => unknown;

class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function text(read: ContextReader, key: string): string | undefined {
  const raw = read(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return String(raw).trim();
  if (Array.isArray(raw)) return raw.map(String).join(',');
  throw new SettingsError(`Expected context "${key}" to be a string, number or boolean but received ${JSON.stringify(raw)}`);
}

function bool(read: ContextReader, key: string, fallback: boolean): boolean {
  const v = text(read, key);
  if (v === undefined) return fallback;
  if (['true', '1', 'yes'].includes(v.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(v.toLowerCase())) return false;
  throw new SettingsError(`Expected context "${key}" to be true or false but received ${JSON.stringify(v)}`);
}

function int(read: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const v = text(read, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`Expected context "${key}" to be an integer from ${min} to ${max} but received ${JSON.stringify(v)}`);
  }
  return n;
}

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

function instanceType(read: ContextReader, key: string, fallback: string): string {
  const v = text(read, key) ?? fallback;
  if (!INSTANCE_TYPE.test(v)) {
    throw new SettingsError(`Expected context "${key}" to be an EC2 instance type such as g5.xlarge but received ${JSON.stringify(v)}`);
  }
  return v;
}

/** S3 bucket naming rules (general purpose buckets), without the IP-address and reserved-suffix cases. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bucketName(read: ContextReader): string | undefined {
  const v = text(read, 'bucketName');
  if (v !== undefined && (!BUCKET_NAME.test(v) || v.includes('..'))) {
    throw new SettingsError(`Expected context "bucketName" to be an S3 bucket name (3-63 of a-z, 0-9, "." and "-") but received ${JSON.stringify(v)}`);
  }
  return v;
}

function profiles(read: ContextReader): OutputProfile[] {
  const raw = read('outputProfiles');
  if (raw === undefined || raw === null || raw === '') return [];
  try {
    return parseProfiles(typeof raw === 'string' ? raw : JSON.stringify(raw));
  } catch (err) {
    throw new SettingsError(`Expected context "outputProfiles" to be valid output profiles but: ${(err as Error).message}`);
  }
}

export function readSettings(read: ContextReader): PipelineSettings {
  const d = DEFAULT_SETTINGS;
  const type = instanceType(read, 'instanceType', d.instanceType);
  const spotTypes = (text(read, 'spotInstanceTypes') ?? d.spotInstanceTypes.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of spotTypes) instanceType(() => t, 'spotInstanceTypes', t);
  const ecsAmi = text(read, 'ecsAmi') ?? d.ecsAmi;
  if (ecsAmi !== 'al2023' && ecsAmi !== 'al2') {
    throw new SettingsError(`Expected context "ecsAmi" to be al2023 or al2 but received ${JSON.stringify(ecsAmi)}`);
  }
  const alarmEmail = text(read, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new SettingsError(`Expected context "alarmEmail" to be an e-mail address but received ${JSON.stringify(alarmEmail)}`);
  }
  const settings: PipelineSettings = {
    gpu: bool(read, 'gpu', d.gpu),
    instanceType: type,
    spot: bool(read, 'spot', d.spot),
    // The launch template's own type always comes first so on-demand and Spot agree on the default.
    spotInstanceTypes: [type, ...spotTypes.filter((t) => t !== type)],
    ecsAmi,
    maxTasks: int(read, 'maxTasks', d.maxTasks, 1, 100),
    targetBacklogPerTask: int(read, 'targetBacklogPerTask', d.targetBacklogPerTask, 1, 100_000),
    batchSize: int(read, 'batchSize', d.batchSize, 1, 64),
    cpuTaskCpu: int(read, 'cpuTaskCpu', d.cpuTaskCpu, 256, 16384),
    cpuTaskMemoryMiB: int(read, 'cpuTaskMemoryMiB', d.cpuTaskMemoryMiB, 512, 122880),
    natGateways: int(read, 'natGateways', d.natGateways, 0, 3),
    alarmEmail,
    oldestJobAgeAlarmSeconds: int(read, 'oldestJobAgeAlarmSeconds', d.oldestJobAgeAlarmSeconds, 60, 86_400),
    resultsTransitionDays: int(read, 'resultsTransitionDays', d.resultsTransitionDays, 0, 3650),
    resultsExpirationDays: int(read, 'resultsExpirationDays', d.resultsExpirationDays, 0, 36500),
    incomingExpirationDays: int(read, 'incomingExpirationDays', d.incomingExpirationDays, 0, 36500),
    presignSeconds: int(read, 'presignSeconds', d.presignSeconds, 60, 604_800),
    logRetentionDays: int(read, 'logRetentionDays', d.logRetentionDays, 1, 3653),
    modelVersionFallback: text(read, 'modelVersion') ?? d.modelVersionFallback,
    outputProfiles: profiles(read),
    bucketName: bucketName(read),
    ingestConcurrency: int(read, 'ingestConcurrency', d.ingestConcurrency, 0, 1000),
  };
  const { resultsTransitionDays: ia, resultsExpirationDays: expire } = settings;
  if (ia > 0 && ia < 30) {
    throw new SettingsError(`Expected context "resultsTransitionDays" to be 0 or at least 30 (S3 Standard-IA minimum) but received ${ia}`);
  }
  if (ia > 0 && expire > 0 && expire <= ia) {
    throw new SettingsError(`Expected context "resultsExpirationDays" (${expire}) to be later than "resultsTransitionDays" (${ia})`);
  }
  if (!LOG_RETENTION_DAYS.includes(settings.logRetentionDays)) {
    throw new SettingsError(`Expected context "logRetentionDays" to be one of ${LOG_RETENTION_DAYS.join(', ')} but received ${settings.logRetentionDays}`);
  }
  return settings;
}

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

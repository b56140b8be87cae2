/**
 * The IAM contract: infra/lib/access-contract.ts says what each role's code calls; this evaluates it
 * against the synthesized template with an offline IAM simulator (@cloud-copilot/iam-simulate,
 * identity policies plus the bucket's and queues' resource policies):
 * - every row is allowed, with the request S3 or the service would make (for "not found" checks,
 *   ListBucket with the object key as s3:prefix);
 * - nothing else is: every action the pipeline uses (and a few it must never have), on every
 *   resource and prefix the stack has plus one outside it, is denied unless a row allows it, and a
 *   role's policy may hold no action the probes do not know.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_CONTRACT,
  CONTRACT_PATHS,
  CONTRACT_ROLES,
  type AccessRow,
  type ContractResource,
  type ContractRole,
  type QueueName,
} from '../../infra/lib/access-contract.ts';
import { BACKGROUNDS_PREFIX, INPUT_PREFIX, MANIFESTS_PREFIX, REPORTS_PREFIX, RESULTS_PREFIX } from '#core/resources';
import { actionsOf, FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Statement, type Synthesised, synthesise } from './stack-fixture.ts';
import { ACCOUNT, TemplateArns } from './template-arns.ts';

type PolicyDocument = { Version: string; Statement: Statement[] };

/** What a probe touches; `target` is the contract resource it is, undefined for one outside the stack. */
interface Sample {
  arn: string;
  label: string;
  target?: ContractResource;
  /** objects: the key. */
  key?: string;
  /** bucket, ListBucket: the request's s3:prefix (absent: a listing of the whole bucket). */
  s3Prefix?: string;
}

type SampleKind = 'objects' | 'bucket' | 'queue' | 'secret' | 'function' | 'logStream';

/** Every action the probes try, by the kind of resource it acts on. A role holding any other action fails. */
const PROBE_ACTIONS: Record<SampleKind, string[]> = {
  objects: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:DeleteObject', 's3:PutObjectAcl'],
  bucket: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation', 's3:PutBucketPolicy'],
  queue: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:PurgeQueue'],
  secret: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
  function: ['lambda:InvokeFunction', 'lambda:UpdateFunctionCode'],
  logStream: ['logs:CreateLogStream', 'logs:PutLogEvents'],
};
const KIND_OF_ACTION = new Map(Object.entries(PROBE_ACTIONS).flatMap(([kind, actions]) => actions.map((a) => [a, kind as SampleKind])));

const PREFIXES = [INPUT_PREFIX, RESULTS_PREFIX, BACKGROUNDS_PREFIX, MANIFESTS_PREFIX, REPORTS_PREFIX, 'elsewhere/'];
/** A key like the ones the code names under each prefix. */
const sampleKey = (prefix: string) => (prefix === RESULTS_PREFIX ? `${prefix}incoming/shop/photo.jpg/result.json` : `${prefix}shop/photo.jpg`);

function covers(row: AccessRow, sample: Sample): boolean {
  const t = sample.target;
  if (!t || t.kind !== row.resource.kind) return false;
  switch (row.resource.kind) {
    case 'objects':
      return sample.key!.startsWith(row.resource.prefix);
    case 'bucket':
      return row.listPrefix === undefined || (sample.s3Prefix !== undefined && sample.s3Prefix.startsWith(row.listPrefix));
    case 'queue':
      return t.kind === 'queue' && t.queue === row.resource.queue;
    case 'secret':
      return true;
    case 'function':
      return t.kind === 'function' && t.fn === row.resource.fn;
    case 'logGroup':
      return t.kind === 'logGroup' && t.of === row.resource.of;
  }
}

const expectedAllowed = (role: ContractRole, action: string, sample: Sample) =>
  ACCESS_CONTRACT.some((row) => row.role === role && row.action === action && covers(row, sample));

describe('IAM contract: each role may do exactly what its code calls (offline IAM simulation of the synthesized template)', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  let arns: TemplateArns;
  let samples: Record<SampleKind, Sample[]>;

  beforeAll(async () => {
    s = await synthesise('app');
    arns = new TemplateArns(s.raw.template);
    const bucketArn = arns.arn(s.id(CONTRACT_PATHS.bucket));
    const logStream = (path: string) => `${arns.arn(s.id(path)).replace(/:\*$/, '')}:log-stream:2026/01/01/[$LATEST]abc`;
    const queueSamples: Sample[] = [
      ...(Object.entries(CONTRACT_PATHS.queues) as [QueueName, string][]).map(([queue, path]) => ({
        arn: arns.arn(s.id(path)),
        label: `queue ${queue}`,
        target: { kind: 'queue', queue } as const,
      })),
      { arn: arns.arn(s.id('Jobs/DeadLetters')), label: 'queue jobs DLQ' },
      { arn: arns.arn(s.id('Events/DeadLetters')), label: 'queue events DLQ' },
      { arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:someone-elses-queue`, label: 'a queue outside the stack' },
    ];
    samples = {
      objects: [
        ...PREFIXES.map((prefix) => ({ arn: `${bucketArn}/${sampleKey(prefix)}`, label: `object ${sampleKey(prefix)}`, key: sampleKey(prefix), target: { kind: 'objects', prefix } as const })),
        { arn: 'arn:aws:s3:::someone-elses-bucket/incoming/shop/photo.jpg', label: 'an object in another bucket' },
      ],
      bucket: [
        { arn: bucketArn, label: 'bucket, list everything', target: { kind: 'bucket' } },
        { arn: bucketArn, label: 'bucket, s3:prefix ""', s3Prefix: '', target: { kind: 'bucket' } },
        ...PREFIXES.map((prefix) => ({ arn: bucketArn, label: `bucket, s3:prefix ${sampleKey(prefix)}`, s3Prefix: sampleKey(prefix), target: { kind: 'bucket' } as const })),
        { arn: 'arn:aws:s3:::someone-elses-bucket', label: 'another bucket, s3:prefix incoming/', s3Prefix: 'incoming/' },
      ],
      queue: queueSamples,
      secret: [
        { arn: arns.arn(s.id(CONTRACT_PATHS.secret)), label: 'the subscriptions secret', target: { kind: 'secret' } },
        { arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:someone-elses-AbCdEf`, label: 'another secret' },
      ],
      function: [
        { arn: arns.arn(s.id(CONTRACT_PATHS.functions.ingest)), label: 'ingest function', target: { kind: 'function', fn: 'ingest' } },
        { arn: arns.arn(s.id('Notify/Handler/Function')), label: 'notify function' },
        { arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:someone-elses`, label: 'another function' },
      ],
      logStream: [
        ...(['ingest', 'notify'] as const).map((of) => ({ arn: logStream(CONTRACT_PATHS.logGroups[of]), label: `${of}'s log stream`, target: { kind: 'logGroup', of } as const })),
        { arn: logStream('Segment/Logs'), label: "the worker's log stream" },
        { arn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:someone-elses:log-stream:x`, label: 'another log stream' },
      ],
    };
  }, FIRST_SYNTH_TIMEOUT_MS);

  /** The role's identity policies, resolved. */
  function identityPolicies(role: ContractRole): Simulation['identityPolicies'] {
    const roleId = s.id(CONTRACT_ROLES[role]);
    const props = s.props(CONTRACT_ROLES[role]);
    expect(props.ManagedPolicyArns, `${role} has no managed policies`).toBeUndefined();
    const attached = s
      .resourcesOfType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
      .map(([id, p]) => ({ name: id, policy: arns.resolve(p.PolicyDocument) as PolicyDocument }));
    const inline = ((props.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]).map((p) => ({
      name: p.PolicyName,
      policy: arns.resolve(p.PolicyDocument) as PolicyDocument,
    }));
    return [...attached, ...inline];
  }

  /** The bucket policy or queue policy that governs `arn`, if any (the stack's TLS-only denies). */
  function resourcePolicy(arn: string): PolicyDocument | undefined {
    const bucketName = arn.startsWith('arn:aws:s3:::') ? arn.slice('arn:aws:s3:::'.length).split('/')[0] : undefined;
    for (const [, p] of s.resourcesOfType('AWS::S3::BucketPolicy')) {
      if (bucketName && arns.resolve(p.Bucket) === bucketName) return arns.resolve(p.PolicyDocument) as PolicyDocument;
    }
    for (const [, p] of s.resourcesOfType('AWS::SQS::QueuePolicy')) {
      const urls = arns.resolve(p.Queues) as string[];
      if (urls.some((url) => arn.endsWith(`:${url.split('/').at(-1)}`))) return arns.resolve(p.PolicyDocument) as PolicyDocument;
    }
    return undefined;
  }

  async function decide(role: ContractRole, action: string, sample: Sample): Promise<string> {
    const resourcePolicyDoc = resourcePolicy(sample.arn);
    const result = await runSimulation(
      {
        request: {
          action,
          principal: arns.arn(s.id(CONTRACT_ROLES[role])),
          resource: { resource: sample.arn, accountId: ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', ...(sample.s3Prefix !== undefined && action === 's3:ListBucket' ? { 's3:prefix': sample.s3Prefix } : {}) },
        },
        identityPolicies: identityPolicies(role),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicyDoc ? { resourcePolicy: resourcePolicyDoc } : {}),
      },
      {},
    );
    if (result.resultType !== 'single') throw new Error(`Expected a simulation result for ${role} ${action} ${sample.arn} but received ${JSON.stringify(result)}`);
    return result.overallResult;
  }

  /** The request a row stands for: the sample of its resource (and, for ListBucket, a key under its prefix). */
  function sampleFor(row: AccessRow): Sample {
    const kind: SampleKind = row.resource.kind === 'logGroup' ? 'logStream' : row.resource.kind;
    const found = samples[kind].find(
      (sample) =>
        covers(row, sample) &&
        (row.resource.kind !== 'bucket' || row.action !== 's3:ListBucket' || sample.s3Prefix !== undefined) &&
        (row.resource.kind !== 'bucket' || row.action === 's3:ListBucket' || sample.s3Prefix === undefined),
    );
    if (!found) throw new Error(`Expected a sample resource for ${JSON.stringify(row)}`);
    return found;
  }

  it('has one row per call, each naming its caller and reason', () => {
    const keys = ACCESS_CONTRACT.map((r) => `${r.role} ${r.action} ${JSON.stringify(r.resource)} ${r.listPrefix ?? ''}`);

    expect(new Set(keys).size).toBe(keys.length);
    expect(ACCESS_CONTRACT.length).toBe(32);
    for (const row of ACCESS_CONTRACT) {
      expect(row.caller.length, keys.join()).toBeGreaterThan(0);
      expect(row.why.length).toBeGreaterThan(0);
      expect(KIND_OF_ACTION.has(row.action), `${row.action} is probed`).toBe(true);
    }
  });

  it.each(ACCESS_CONTRACT.map((row) => [`${row.role}: ${row.action} ${JSON.stringify(row.resource)}${row.listPrefix ? ` s3:prefix ${row.listPrefix}*` : ''}`, row] as const))(
    'allows %s',
    async (_, row) => {
      const sample = sampleFor(row);
      expect(await decide(row.role, row.action, sample), `${row.role} ${row.action} on ${sample.label} (${row.caller}: ${row.why})`).toBe('Allowed');
    },
  );

  it.each(Object.keys(CONTRACT_ROLES) as ContractRole[])('%s: holds no action the probes do not know', (role) => {
    const granted = identityPolicies(role).flatMap((p) => (p.policy as PolicyDocument).Statement.filter((st) => st.Effect === 'Allow').flatMap(actionsOf));

    expect(granted.filter((a) => !KIND_OF_ACTION.has(a))).toEqual([]);
  });

  it.each(Object.keys(CONTRACT_ROLES) as ContractRole[])('%s: is denied everything the contract does not list', async (role) => {
    const mismatches: string[] = [];
    let probes = 0;
    for (const [kind, actions] of Object.entries(PROBE_ACTIONS) as [SampleKind, string[]][]) {
      for (const action of actions) {
        for (const sample of samples[kind]) {
          if (sample.s3Prefix !== undefined && action !== 's3:ListBucket') continue;
          probes++;
          const expected = expectedAllowed(role, action, sample) ? 'Allowed' : 'ImplicitlyDenied';
          const actual = await decide(role, action, sample);
          if ((actual === 'Allowed') !== (expected === 'Allowed')) mismatches.push(`${action} on ${sample.label}: expected ${expected} but the template gives ${actual}`);
        }
      }
    }

    expect(probes).toBeGreaterThan(100);
    expect(mismatches).toEqual([]);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { BACKGROUNDS_PREFIX, INPUT_PREFIX, MANIFESTS_PREFIX, REPORTS_PREFIX, RESULTS_PREFIX } from '#core/resources';
import { actionsOf, FIRST_SYNTH_TIMEOUT_MS, resourcesOf, SYNTH_TIMEOUT_MS, type Synthesised, synthesise } from './stack-fixture.ts';

const BUCKET = 'Storage/Uploads';

/** Least privilege, role by role: each list is everything the role may do. */
describe('IAM', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  beforeAll(async () => {
    s = await synthesise('app');
  }, FIRST_SYNTH_TIMEOUT_MS);

  const ownLogs = (fn: string) => ({
    Sid: 'WriteOwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: s.arn(`${fn}/Handler/Logs`),
  });

  /** s3:ListBucket on the bucket, only for keys under these prefixes (a missing key reads as 404, not 403). */
  const listUnder = (sid: string, prefixes: string[]) => ({
    Sid: sid,
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: s.arn(BUCKET),
    Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
  });

  it('ingest: send jobs (and failed events to its on-failure queue), HEAD uploads and results, tell a missing one; nothing else', () => {
    expect(s.statementsOfRole('Ingest/Handler/Role')).toEqual([
      ownLogs('Ingest'),
      { Sid: 'ParkFailedEvents', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: s.arn('Ingest/Failures') },
      { Sid: 'SendJobs', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: s.arn('Jobs/Queue') },
      {
        Sid: 'ReadUploadAndResultMetadata',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [s.objectsArn(BUCKET, INPUT_PREFIX), s.objectsArn(BUCKET, RESULTS_PREFIX)],
      },
      listUnder('TellMissingUploadsAndResults', [INPUT_PREFIX, RESULTS_PREFIX]),
    ]);
  });

  it('segment worker task: consume jobs, send events, read incoming/ and backgrounds/, read and write results/, tell a missing key there; nothing else', () => {
    expect(s.statementsOfRole('Segment/Task/TaskRole')).toEqual([
      {
        Sid: 'ConsumeJobs',
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'],
        Resource: s.arn('Jobs/Queue'),
      },
      { Sid: 'SendEvents', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: s.arn('Events/Queue') },
      { Sid: 'ReadUploads', Effect: 'Allow', Action: 's3:GetObject', Resource: s.objectsArn(BUCKET, INPUT_PREFIX) },
      { Sid: 'ReadBackgrounds', Effect: 'Allow', Action: 's3:GetObject', Resource: s.objectsArn(BUCKET, BACKGROUNDS_PREFIX) },
      { Sid: 'ReadWriteResults', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: s.objectsArn(BUCKET, RESULTS_PREFIX) },
      listUnder('TellMissingKeys', [INPUT_PREFIX, BACKGROUNDS_PREFIX, RESULTS_PREFIX]),
    ]);
  });

  it('notify: consume events (ChangeMessageVisibility for backoff), read the subscriptions secret, read results/ for presigning; nothing else', () => {
    expect(s.statementsOfRole('Notify/Handler/Role')).toEqual([
      ownLogs('Notify'),
      {
        Sid: 'ConsumeEvents',
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        Resource: s.arn('Events/Queue'),
      },
      { Sid: 'ReadSubscriptions', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: s.ref('Notify/Subscriptions') },
      { Sid: 'PresignResults', Effect: 'Allow', Action: 's3:GetObject', Resource: s.objectsArn(BUCKET, RESULTS_PREFIX) },
    ]);
  });

  it('S3 Batch Operations role: trusted by batchoperations.s3.amazonaws.com; invoke ingest, read manifests/, write reports/', () => {
    expect(s.props('BatchOperations/Role').AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'batchoperations.s3.amazonaws.com' } }],
    });
    expect(s.statementsOfRole('BatchOperations/Role')).toEqual([
      { Sid: 'InvokeIngest', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: s.arn('Ingest/Handler/Function') },
      { Sid: 'ReadManifests', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: s.objectsArn(BUCKET, MANIFESTS_PREFIX) },
      { Sid: 'WriteCompletionReports', Effect: 'Allow', Action: 's3:PutObject', Resource: s.objectsArn(BUCKET, REPORTS_PREFIX) },
      { Sid: 'LocateReportBucket', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: s.arn(BUCKET) },
    ]);
  });

  it('grants "Resource: *" only for actions that support no resource-level permissions (ECR login, ECS agent)', () => {
    const starActions = s
      .allStatements()
      .filter((st) => resourcesOf(st).includes('*'))
      .flatMap(actionsOf);

    expect(new Set(starActions)).toEqual(
      new Set([
        'ecr:GetAuthorizationToken',
        'ecs:DiscoverPollEndpoint',
        'ecs:Poll',
        'ecs:StartTelemetrySession',
        // The ECS agent's own logs, granted by ecs.Cluster to the instance role.
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]),
    );
  });

  it('uses no wildcard actions except the ECS agent state reports CDK grants on the cluster', () => {
    const wildcards = s
      .allStatements()
      .flatMap(actionsOf)
      .filter((a) => a.includes('*'));

    expect(wildcards).toEqual(['ecs:Submit*']);
  });

  it('attaches AWS managed policies only to the CDK-provided custom resource handlers', () => {
    const withManaged = s
      .resourcesOfType('AWS::IAM::Role')
      .filter(([, p]) => p.ManagedPolicyArns !== undefined)
      .map(([id]) => id);
    const ourRoles = ['Ingest/Handler/Role', 'Notify/Handler/Role', 'Segment/Task/TaskRole', 'Segment/Task/ExecutionRole', 'BatchOperations/Role'].map((p) => s.id(p));

    expect(withManaged.filter((id) => ourRoles.includes(id))).toEqual([]);
    expect(withManaged.every((id) => /^BucketNotificationsHandler|^CustomVpcRestrictDefaultSG/.test(id))).toBe(true);
  });
});

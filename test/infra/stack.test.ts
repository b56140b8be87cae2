import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#core/config';
import { MODEL_CARD_PATH } from '../../infra/lib/model-card.ts';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesiseAll } from './stack-fixture.ts';

const cardVersion = (JSON.parse(readFileSync(MODEL_CARD_PATH, 'utf8')) as { version: string }).version;

describe('pipeline stack', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  let noCard: Synthesised;
  let cpuSpot: Synthesised;
  beforeAll(async () => {
    [s, noCard, cpuSpot] = await synthesiseAll([
      { scenario: 'app' },
      { scenario: 'appWithoutModelCard', arg: 'v7-from-context' },
      { scenario: 'app', arg: { gpu: 'false', spot: 'true', ingestConcurrency: '0' } },
    ]);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('exports the bucket, queue URLs, ingest function ARN, Batch Operations role ARN, secret, topic, model version and the worker names teardown needs', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.Value]))).toEqual({
      BucketName: s.ref('Storage/Uploads'),
      JobsQueueUrl: s.ref('Jobs/Queue'),
      JobsDeadLetterQueueUrl: s.ref('Jobs/DeadLetters'),
      EventsQueueUrl: s.ref('Events/Queue'),
      EventsDeadLetterQueueUrl: s.ref('Events/DeadLetters'),
      IngestFunctionArn: s.arn('Ingest/Handler/Function'),
      BatchOperationsRoleArn: s.arn('BatchOperations/Role'),
      SubscriptionsSecretArn: s.ref('Notify/Subscriptions'),
      AlarmTopicArn: s.ref('Monitoring/Alarms'),
      ModelVersion: cardVersion,
      WorkerClusterName: s.ref('Segment/Cluster'),
      WorkerServiceName: s.att('Segment/Service', 'Name'),
      WorkerAutoScalingGroupName: s.ref('Segment/GpuCapacity/Instances'),
    });
    expect(Object.keys(cpuSpot.template.toJSON().Outputs as object)).not.toContain('WorkerAutoScalingGroupName');
  });

  it('reserves concurrency for ingest (default 10), so a bulk upload cannot take the account\'s Lambda concurrency; 0 reserves none', () => {
    expect(s.props('Ingest/Handler/Function').ReservedConcurrentExecutions).toBe(10);
    expect(cpuSpot.props('Ingest/Handler/Function').ReservedConcurrentExecutions).toBeUndefined();
    expect(s.props('Notify/Handler/Function').ReservedConcurrentExecutions).toBeUndefined();
  });

  it('on delete keeps the uploads and access-log buckets and deletes everything else, the alarm topic\'s KMS key after 7 days', () => {
    const retained = Object.entries(s.template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>)
      .filter(([, r]) => r.DeletionPolicy === 'Retain')
      .map(([id]) => id)
      .sort();

    expect(retained).toEqual([s.id('Storage/AccessLogs'), s.id('Storage/Uploads')].sort());
    expect(s.props('Monitoring/TopicKey').PendingWindowInDays).toBe(7);
  });

  it('stamps jobs with the model version from models/tiramisu.card.json, without warnings', () => {
    expect(s.props('Ingest/Handler/Function').Environment).toEqual({ Variables: expect.objectContaining({ [ENV.modelVersion]: cardVersion }) });
    expect(s.raw.warnings).toEqual([]);
  });

  it('falls back to the modelVersion context when the model card is missing, and warns', () => {
    expect(noCard.props('Ingest/Handler/Function').Environment).toEqual({
      Variables: expect.objectContaining({ [ENV.modelVersion]: 'v7-from-context' }),
    });
    expect(noCard.raw.warnings).toEqual([{ path: '/NoCard', message: expect.stringContaining('tiramisu.card.json not found') }]);
  });

  it('the worker and notify are wired to the same queues and bucket as ingest', () => {
    const env = (s.props('Segment/Task').ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[])[0]!.Environment;

    expect(env).toContainEqual({ Name: ENV.jobsQueueUrl, Value: s.ref('Jobs/Queue') });
    expect(env).toContainEqual({ Name: ENV.eventsQueueUrl, Value: s.ref('Events/Queue') });
    expect(env).toContainEqual({ Name: ENV.bucket, Value: s.ref('Storage/Uploads') });
    expect(s.props('Scaling/Target').MinCapacity).toBe(0);
  });

  it('gpu=false spot=true runs the CPU worker on FARGATE_SPOT', () => {
    expect(cpuSpot.props('Segment/Service').CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    cpuSpot.template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
  });
});

import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesise } from './stack-fixture.ts';

const DAY = 24 * 60 * 60;

describe('WorkQueue', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  beforeAll(async () => {
    s = await synthesise('queues');
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('jobs: FIFO (high throughput), SSE-SQS, named and timed by RESOURCE_DEFAULTS, redrives to its FIFO DLQ after maxReceiveCount', () => {
    const d = RESOURCE_DEFAULTS.jobsQueue;

    expect(s.props('Jobs/Queue')).toEqual({
      QueueName: d.name,
      FifoQueue: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      VisibilityTimeout: d.visibilityTimeoutSeconds,
      MessageRetentionPeriod: 4 * DAY,
      RedrivePolicy: { deadLetterTargetArn: s.arn('Jobs/DeadLetters'), maxReceiveCount: d.maxReceiveCount },
    });
    expect(s.props('Jobs/DeadLetters')).toEqual({
      QueueName: d.dlqName,
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: RESOURCE_DEFAULTS.dlqRetentionDays * DAY,
    });
  });

  it('events: standard, SSE-SQS, named and timed by RESOURCE_DEFAULTS, redrives to its DLQ after maxReceiveCount', () => {
    const d = RESOURCE_DEFAULTS.eventsQueue;

    expect(s.props('Events/Queue')).toEqual({
      QueueName: d.name,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: d.visibilityTimeoutSeconds,
      MessageRetentionPeriod: 4 * DAY,
      RedrivePolicy: { deadLetterTargetArn: s.arn('Events/DeadLetters'), maxReceiveCount: d.maxReceiveCount },
    });
    expect(s.props('Events/DeadLetters')).toEqual({
      QueueName: d.dlqName,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: RESOURCE_DEFAULTS.dlqRetentionDays * DAY,
    });
  });

  it.each(['Jobs', 'Events'])('%s: dead letters are kept longer than the queue keeps messages (SQS keeps the original enqueue time)', (name) => {
    expect(s.props(`${name}/DeadLetters`).MessageRetentionPeriod as number).toBeGreaterThan(s.props(`${name}/Queue`).MessageRetentionPeriod as number);
  });

  it.each(['Jobs/Queue', 'Jobs/DeadLetters', 'Events/Queue', 'Events/DeadLetters'])('%s refuses requests not made over TLS', (queue) => {
    s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [s.ref(queue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: s.arn(queue) }),
        ]),
      },
    });
  });
});

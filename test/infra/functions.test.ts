import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#core/config';
import { INPUT_PREFIX } from '#core/resources';
import { NOTIFY_BATCH_SIZE, NOTIFY_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_MS } from '../../infra/lib/constructs/notify.ts';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesise } from './stack-fixture.ts';

describe('ingest and notify functions', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  beforeAll(async () => {
    s = await synthesise('functions');
  }, FIRST_SYNTH_TIMEOUT_MS);

  it.each([
    ['Ingest', 'ingest'],
    ['Notify', 'notify'],
  ])('%s: newest Node.js runtime, arm64, ESM bundle with source maps, Powertools env, own role and log group', (name, service) => {
    expect(s.props(`${name}/Handler/Function`)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Role: s.arn(`${name}/Handler/Role`),
      LoggingConfig: { LogGroup: s.ref(`${name}/Handler/Logs`) },
      Environment: {
        Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: service, POWERTOOLS_LOG_LEVEL: 'INFO' }),
      },
    });
  });

  it('log groups keep logs for the configured retention', () => {
    expect(s.props('Ingest/Handler/Logs').RetentionInDays).toBe(30);
    expect(s.props('Notify/Handler/Logs').RetentionInDays).toBe(90);
  });

  it('function roles have no AWS managed policies and may write only their own log group', () => {
    for (const name of ['Ingest', 'Notify']) {
      expect(s.props(`${name}/Handler/Role`).ManagedPolicyArns).toBeUndefined();
      expect(s.statementsOfRole(`${name}/Handler/Role`)).toContainEqual({
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: s.arn(`${name}/Handler/Logs`),
      });
    }
  });

  it('ingest is told the jobs queue, bucket, input prefix and model version', () => {
    expect(s.props('Ingest/Handler/Function').Environment).toEqual({
      Variables: expect.objectContaining({
        [ENV.jobsQueueUrl]: s.ref('Jobs/Queue'),
        [ENV.bucket]: s.ref('Storage/Uploads'),
        [ENV.inputPrefix]: INPUT_PREFIX,
        [ENV.modelVersion]: 'v-test',
      }),
    });
  });

  it('ingest is invoked by S3 for ObjectCreated:* under incoming/ only', () => {
    s.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: s.ref('Storage/Uploads'),
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: INPUT_PREFIX }] } },
            LambdaFunctionArn: s.arn('Ingest/Handler/Function'),
          },
        ],
      },
    });
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: s.arn('Ingest/Handler/Function'),
      Principal: 's3.amazonaws.com',
      SourceArn: s.arn('Storage/Uploads'),
    });
  });

  it('ingest retries a failed S3 invocation twice, then parks the event in its encrypted on-failure queue', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: s.ref('Ingest/Handler/Function'),
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: s.arn('Ingest/Failures') } },
    });
    expect(s.props('Ingest/Failures')).toMatchObject({ QueueName: 'greenscreen-ingest-failures', SqsManagedSseEnabled: true });
  });

  it('notify is told the subscriptions secret, events queue, bucket, presign lifetime and a webhook timeout that fits its own', () => {
    expect(s.props('Notify/Handler/Function')).toMatchObject({
      Timeout: NOTIFY_TIMEOUT_SECONDS,
      Environment: {
        Variables: expect.objectContaining({
          [ENV.subscriptionsSecretArn]: s.ref('Notify/Subscriptions'),
          [ENV.eventsQueueUrl]: s.ref('Events/Queue'),
          [ENV.bucket]: s.ref('Storage/Uploads'),
          [ENV.presignSeconds]: '900',
          [ENV.webhookTimeoutMs]: String(WEBHOOK_TIMEOUT_MS),
        }),
      },
    });
    expect(WEBHOOK_TIMEOUT_MS).toBeLessThan(NOTIFY_TIMEOUT_SECONDS * 1000);
  });

  it("events queue visibility timeout is at least six times notify's timeout (AWS guidance for SQS event sources)", () => {
    const timeout = s.props('Notify/Handler/Function').Timeout as number;

    expect(s.props('Events/Queue').VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('notify consumes the events queue and reports partial batch failures', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: s.arn('Events/Queue'),
      FunctionName: s.ref('Notify/Handler/Function'),
      BatchSize: NOTIFY_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('creates the subscriptions secret holding an empty JSON array', () => {
    expect(s.props('Notify/Subscriptions')).toMatchObject({ Name: 'greenscreen/webhook-subscriptions', SecretString: '[]' });
  });
});

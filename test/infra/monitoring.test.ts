import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../infra/lib/settings.ts';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesiseAll } from './stack-fixture.ts';

const TOPIC = 'Monitoring/Alarms';

describe('monitoring', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  let withEmail: Synthesised;
  beforeAll(async () => {
    [s, withEmail] = await synthesiseAll([
      { scenario: 'app' },
      { scenario: 'app', arg: { alarmEmail: 'ops@example.com', oldestJobAgeAlarmSeconds: '600' } },
    ]);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it.each([
    ['Monitoring/JobsDeadLettersNotEmpty', 'Jobs/DeadLetters'],
    ['Monitoring/EventsDeadLettersNotEmpty', 'Events/DeadLetters'],
    ['Monitoring/IngestFailuresNotEmpty', 'Ingest/Failures'],
  ])('%s: alarms on the first message in %s and notifies the alarm topic', (alarm, queue) => {
    expect(s.props(alarm)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: s.att(queue, 'QueueName') }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [s.ref(TOPIC)],
      OKActions: [s.ref(TOPIC)],
    });
  });

  it('alarms when the oldest waiting job is older than the configured age', () => {
    const expected = (x: Synthesised, threshold: number) =>
      expect(x.props('Monitoring/OldestJobTooOld')).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: x.att('Jobs/Queue', 'QueueName') }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: threshold,
        AlarmActions: [x.ref(TOPIC)],
      });

    expected(s, DEFAULT_SETTINGS.oldestJobAgeAlarmSeconds);
    expected(withEmail, 600);
  });

  it('encrypts the alarm topic with a rotating customer managed key CloudWatch may use, and refuses non-TLS publishing', () => {
    expect(s.props(TOPIC).KmsMasterKeyId).toEqual(s.arn('Monitoring/TopicKey'));
    expect(s.props('Monitoring/TopicKey').EnableKeyRotation).toBe(true);
    expect(JSON.stringify(s.props('Monitoring/TopicKey').KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [s.ref(TOPIC)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('subscribes an e-mail address only when alarmEmail is given', () => {
    s.template.resourceCountIs('AWS::SNS::Subscription', 0);
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: withEmail.ref(TOPIC) });
  });

  it('dashboard shows queue depth, jobs succeeded/failed, running tasks and p50/p95 upload-to-result latency from the EMF metrics', () => {
    const body = JSON.stringify(s.props('Monitoring/Dashboard').DashboardBody);

    for (const needle of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesNotVisible',
      '\\"Greenscreen\\",\\"JobsSucceeded\\",\\"Service\\",\\"segment\\"',
      '\\"Greenscreen\\",\\"JobsFailed\\",\\"Service\\",\\"segment\\"',
      '\\"Greenscreen\\",\\"JobLatency\\",\\"Service\\",\\"segment\\"',
      '\\"stat\\":\\"p50\\"',
      '\\"stat\\":\\"p95\\"',
      'RunningTaskCount',
      'ApproximateAgeOfOldestMessage',
    ]) {
      expect(body).toContain(needle);
    }
  });
});

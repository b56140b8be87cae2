import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BacklogScaling, serviceTaskMetric } from './backlog-scaling.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './segment-worker.ts';

export interface MonitoringProps {
  jobsQueue: sqs.IQueue;
  eventsQueue: sqs.IQueue;
  /** Every queue that only fills when something failed, by a readable name. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  cluster: ecs.ICluster;
  service: ecs.BaseService;
  alarmEmail: string | undefined;
  oldestJobAgeAlarmSeconds: number;
}

const ONE_MINUTE = Duration.minutes(1);

/** A metric of the worker's EMF output (functions/segment/metrics.ts). */
export function workerMetric(metricName: 'JobsSucceeded' | 'JobsFailed' | 'JobLatency' | 'BatchSize', statistic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { Service: METRICS_SERVICE },
    statistic,
    period: ONE_MINUTE,
  });
}

/**
 * Alarms that need a person, one SNS topic they go to (optionally e-mailed), and a one-screen
 * dashboard: queue depths, throughput, failures, tasks running, and upload-to-result latency.
 *
 * - Any message in a DLQ (or the ingest on-failure queue) is a job or event that exhausted its
 *   retries: alarm at the first one.
 * - The oldest waiting job's age covers everything else that stalls the pipeline (workers that
 *   cannot start, a broken image, no GPU capacity, a quota); its threshold allows for a cold
 *   start from zero (instance boot + image pull).
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // SSE for the topic needs a customer managed key: CloudWatch cannot publish to a topic
    // encrypted with the AWS managed aws/sns key (it may not use that key).
    // Deleted with the stack (after KMS's shortest waiting period, 7 days): it encrypts only the
    // alarm topic's messages, which go with the topic. CDK's default would retain it at $1/month.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Greenscreen alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');

    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: 'Greenscreen alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.topic);

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarms.push(
        new cloudwatch.Alarm(this, `${name}NotEmpty`, {
          alarmDescription: `Messages in ${name}: they exhausted their retries. Inspect them, fix the cause, then redrive (aws sqs start-message-move-task).`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: ONE_MINUTE }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.alarms.push(
      new cloudwatch.Alarm(this, 'OldestJobTooOld', {
        alarmDescription: `A job has waited more than ${props.oldestJobAgeAlarmSeconds} s: workers are not starting or not keeping up.`,
        metric: props.jobsQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: ONE_MINUTE }),
        threshold: props.oldestJobAgeAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = this.buildDashboard(props);
  }

  private buildDashboard(props: MonitoringProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-pipeline`,
      defaultInterval: Duration.hours(3),
    });
    const queueDepth = (queue: sqs.IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: ONE_MINUTE, label });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        width: 12,
        left: [
          queueDepth(props.jobsQueue, 'Jobs waiting'),
          props.jobsQueue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: ONE_MINUTE, label: 'Jobs in progress' }),
          queueDepth(props.eventsQueue, 'Events waiting'),
        ],
        right: Object.entries(props.deadLetterQueues).map(([name, q]) => queueDepth(q, name)),
        rightYAxis: { label: 'Dead letters', min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Jobs per minute',
        width: 12,
        left: [
          workerMetric('JobsSucceeded', 'Sum').with({ label: 'Succeeded', color: cloudwatch.Color.GREEN }),
          workerMetric('JobsFailed', 'Sum').with({ label: 'Failed', color: cloudwatch.Color.RED }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Worker tasks',
        width: 12,
        left: [
          serviceTaskMetric('RunningTaskCount', props).with({ label: 'Running' }),
          serviceTaskMetric('DesiredTaskCount', props).with({ label: 'Desired' }),
        ],
        right: [BacklogScaling.backlogPerTaskMetric({ cluster: props.cluster, service: props.service, queue: props.jobsQueue })],
        rightYAxis: { label: 'Jobs per task', min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Upload-to-result latency (ms)',
        width: 12,
        left: [
          workerMetric('JobLatency', 'p50').with({ label: 'p50' }),
          workerMetric('JobLatency', 'p95').with({ label: 'p95' }),
        ],
        right: [props.jobsQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: ONE_MINUTE, label: 'Oldest job waiting (s)' })],
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
    return dashboard;
  }
}

import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Jobs in the system per running task; while tasks start (running = 0) the divisor is 1. */
export const BACKLOG_PER_TASK_EXPRESSION = '(visible + inflight) / IF(running > 0, running, 1)';
/** 1 when jobs wait and the service wants no task at all: the one case target tracking cannot handle. */
export const JOBS_WAITING_AT_ZERO_EXPRESSION = 'IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)';

export interface BacklogScalingProps {
  cluster: ecs.ICluster;
  service: ecs.BaseService;
  queue: sqs.IQueue;
  maxTasks: number;
  /** Jobs (waiting + in progress) one task should have; above it another task starts. */
  targetBacklogPerTask: number;
}

/** Container Insights service metrics (the cluster has Container Insights enabled). */
export function serviceTaskMetric(
  metricName: 'RunningTaskCount' | 'DesiredTaskCount',
  target: { cluster: ecs.ICluster; service: ecs.BaseService },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'ECS/ContainerInsights',
    metricName,
    dimensionsMap: { ClusterName: target.cluster.clusterName, ServiceName: target.service.serviceName },
    statistic: 'Average',
    period: Duration.minutes(1),
  });
}

/**
 * Scales the worker service on the jobs queue, from zero and back to zero.
 *
 * 1. Target tracking on backlog per task = (visible + in-flight jobs) / running tasks, the
 *    AWS-recommended metric for queue workers, computed with metric math in the policy itself
 *    (no Lambda publishing a custom metric). In-flight jobs count so that a fleet that keeps up
 *    (nothing visible, everything in progress) is not scaled in under its own feet; when the
 *    queue is empty the metric is 0 and the service scales in to 0 (after AAS's 15 low minutes).
 *    While tasks are still starting (desired >= 1, running = 0) the divisor is 1, so a large
 *    backlog at a cold start asks for several tasks at once instead of one boot cycle per step.
 * 2. Target tracking cannot leave zero (it multiplies the current capacity), so a step policy
 *    adds the first task when jobs are waiting and the service's desired count is 0. Once desired
 *    is 1 its alarm clears; it never scales in.
 *
 * The ECS capacity provider then launches (and later removes) the GPU instances the tasks need.
 */
export class BacklogScaling extends Construct {
  readonly target: appscaling.ScalableTarget;
  readonly backlogPerTask: appscaling.CfnScalingPolicy;
  readonly scaleOutFromZero: appscaling.StepScalingPolicy;

  constructor(scope: Construct, id: string, props: BacklogScalingProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.target = new appscaling.ScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      resourceId: `service/${props.cluster.clusterName}/${props.service.serviceName}`,
      scalableDimension: 'ecs:service:DesiredCount',
      minCapacity: 0,
      maxCapacity: props.maxTasks,
      // The ECS service-linked role, as ecs.BaseService.autoScaleTaskCount uses: no role to create.
      role: iam.Role.fromRoleArn(
        this,
        'ServiceLinkedRole',
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
        }),
      ),
    });
    this.target.node.addDependency(props.service);

    const queueDimension = [{ name: 'QueueName', value: props.queue.queueName }];
    const serviceDimensions = [
      { name: 'ClusterName', value: props.cluster.clusterName },
      { name: 'ServiceName', value: props.service.serviceName },
    ];
    this.backlogPerTask = new appscaling.CfnScalingPolicy(this, 'BacklogPerTask', {
      policyName: `${stack.stackName}-segment-backlog-per-task`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.target.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.targetBacklogPerTask,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              metricStat: {
                metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: queueDimension },
                stat: 'Sum',
              },
              returnData: false,
            },
            {
              id: 'inflight',
              metricStat: {
                metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesNotVisible', dimensions: queueDimension },
                stat: 'Sum',
              },
              returnData: false,
            },
            {
              id: 'running',
              metricStat: {
                metric: { namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: serviceDimensions },
                stat: 'Average',
              },
              returnData: false,
            },
            {
              id: 'backlogPerTask',
              expression: BACKLOG_PER_TASK_EXPRESSION,
              label: 'Jobs per running task',
              returnData: true,
            },
          ],
        },
      },
    });

    const visible = props.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) });
    this.scaleOutFromZero = this.target.scaleOnMetric('ScaleOutFromZero', {
      metric: new cloudwatch.MathExpression({
        expression: JOBS_WAITING_AT_ZERO_EXPRESSION,
        usingMetrics: { visible, desired: serviceTaskMetric('DesiredTaskCount', props) },
        label: 'Jobs waiting while no task is wanted',
        period: Duration.minutes(1),
      }),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      // Only the upper alarm is created: an interval with change 0 has no alarm.
      scalingSteps: [
        { upper: 0, change: 0 },
        { lower: 1, change: +1 },
      ],
      evaluationPeriods: 1,
      cooldown: Duration.minutes(2),
    });
  }

  /** For the dashboard: the expression the target tracking policy holds at targetBacklogPerTask. */
  static backlogPerTaskMetric(target: Pick<BacklogScalingProps, 'cluster' | 'service' | 'queue'>): cloudwatch.MathExpression {
    const oneMinute = { period: Duration.minutes(1) };
    return new cloudwatch.MathExpression({
      expression: BACKLOG_PER_TASK_EXPRESSION,
      usingMetrics: {
        visible: target.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Sum', ...oneMinute }),
        inflight: target.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Sum', ...oneMinute }),
        running: serviceTaskMetric('RunningTaskCount', target),
      },
      label: 'Jobs per running task',
      ...oneMinute,
    });
  }
}

import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Jobs in the system (waiting + in progress) per *running* task; 0 while no task runs, so tasks that
 * are still starting never count as capacity and never make the fleet look overloaded.
 */
export const BACKLOG_PER_TASK_EXPRESSION = 'IF(FILL(running, 0) > 0, (visible + inflight) / FILL(running, 1), 0)';
/** 1 when jobs wait and the service wants no task at all: the one case a backlog ratio cannot see. */
export const JOBS_WAITING_AT_ZERO_EXPRESSION = 'IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)';
/** 0 when one task fewer would still be under the target (and one would remain); else 1. */
export const CAN_SHED_A_TASK_EXPRESSION = 'IF(FILL(running, 0) > 1 AND (visible + inflight) < (FILL(running, 0) - 1) * TARGET, 0, 1)';
/** Jobs in the system (waiting + in progress): 0 means nothing to do. */
export const JOBS_IN_SYSTEM_EXPRESSION = 'visible + inflight';

/**
 * From a launch request to a task taking jobs, estimated (no AWS account measured it; see
 * docs/deploy.md, Scaling): GPU, a g5.xlarge boots the ECS GPU AMI and registers (2–3 min), pulls
 * the CUDA image (several GB: 2–3 min) and loads the model (under a minute), so about 6 minutes;
 * CPU, Fargate provisions a task and pulls the slim image in about a minute. Each scale-out waits at
 * least this long before it adds again, so one photo starts one machine.
 */
export const COLD_START = { gpu: Duration.minutes(6), cpu: Duration.minutes(2) } as const;

/** Minutes without a job before the service goes to zero tasks. */
export const IDLE_MINUTES_TO_ZERO = 15;
/** Minutes the fleet must be oversized before one task is removed. */
export const OVERSIZED_MINUTES_TO_SHED = 10;

export interface BacklogScalingProps {
  cluster: ecs.ICluster;
  service: ecs.BaseService;
  queue: sqs.IQueue;
  maxTasks: number;
  /** Jobs (waiting + in progress) one running task should have; above it another task starts. */
  targetBacklogPerTask: number;
  /** How long a new task takes to run (COLD_START.gpu or .cpu): the scale-out cooldown. */
  coldStart: Duration;
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
 * Scales the worker service on the jobs queue, from zero and back to zero, with four step policies
 * (all metric math in the alarms: no Lambda publishing a custom metric):
 *
 * 1. ScaleOutFromZero: jobs wait and the service wants no task -> exactly 1 task (ExactCapacity, so
 *    a repeated alarm can never ask for a second one while the first still boots).
 * 2. ScaleOutOnBacklog: backlog per *running* task, (visible + in-flight) / running, above the
 *    target -> +1, above twice the target -> +2, above four times -> +4 (up to maxTasks). While no
 *    task runs the metric is 0, so a cold start never asks for more than the first task; and the
 *    cooldown is the cold start, so a task that is still starting is not asked for again. In-flight
 *    jobs count so that a fleet that keeps up (nothing visible, all in progress) is not scaled in.
 * 3. ShedOneTask: one task fewer would still be under the target, for 10 minutes -> -1.
 * 4. ScaleInWhenIdle: no job waiting or in progress for 15 minutes -> 0 tasks.
 *
 * The ECS capacity provider then launches (and later removes) the GPU instances the tasks need.
 */
export class BacklogScaling extends Construct {
  readonly target: appscaling.ScalableTarget;
  readonly scaleOutFromZero: appscaling.StepScalingAction;
  readonly jobsWaitingAtZero: cloudwatch.Alarm;
  readonly scaleOutOnBacklog: appscaling.StepScalingPolicy;
  readonly shedOneTask: appscaling.StepScalingPolicy;
  readonly scaleInWhenIdle: appscaling.StepScalingPolicy;

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

    const oneMinute = Duration.minutes(1);
    const visible = props.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: oneMinute });
    const inflight = props.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: oneMinute });
    const running = serviceTaskMetric('RunningTaskCount', props);
    const T = props.targetBacklogPerTask;

    // ExactCapacity 1 with only an upper alarm: scaleOnMetric would add a lower alarm whose
    // "exact capacity 0" would stop the service whenever no job waits at zero.
    this.scaleOutFromZero = new appscaling.StepScalingAction(this, 'ScaleOutFromZero', {
      scalingTarget: this.target,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      cooldown: props.coldStart,
    });
    this.scaleOutFromZero.addAdjustment({ lowerBound: 0, adjustment: 1 });
    this.jobsWaitingAtZero = new cloudwatch.Alarm(this, 'JobsWaitingAtZero', {
      alarmDescription: 'Jobs wait and the segment service wants no task: start exactly one',
      metric: new cloudwatch.MathExpression({
        expression: JOBS_WAITING_AT_ZERO_EXPRESSION,
        usingMetrics: { visible, desired: serviceTaskMetric('DesiredTaskCount', props) },
        label: 'Jobs waiting while no task is wanted',
        period: oneMinute,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.jobsWaitingAtZero.addAlarmAction(new cloudwatchActions.ApplicationScalingAction(this.scaleOutFromZero));

    this.scaleOutOnBacklog = this.target.scaleOnMetric('ScaleOutOnBacklog', {
      metric: BacklogScaling.backlogPerTaskMetric(props),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: T, change: 0 },
        { lower: T, change: +1 },
        { lower: 2 * T, change: +2 },
        { lower: 4 * T, change: +4 },
      ],
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      cooldown: props.coldStart,
    });

    this.shedOneTask = this.target.scaleOnMetric('ShedOneTask', {
      metric: new cloudwatch.MathExpression({
        expression: CAN_SHED_A_TASK_EXPRESSION.replace('TARGET', String(T)),
        usingMetrics: { visible, inflight, running },
        label: 'Could one task fewer keep up (0 = yes)',
        period: oneMinute,
      }),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: 1, change: 0 },
      ],
      evaluationPeriods: OVERSIZED_MINUTES_TO_SHED,
      datapointsToAlarm: OVERSIZED_MINUTES_TO_SHED,
      cooldown: Duration.minutes(5),
    });

    this.scaleInWhenIdle = this.target.scaleOnMetric('ScaleInWhenIdle', {
      metric: new cloudwatch.MathExpression({
        expression: JOBS_IN_SYSTEM_EXPRESSION,
        usingMetrics: { visible, inflight },
        label: 'Jobs waiting or in progress',
        period: oneMinute,
      }),
      adjustmentType: appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -100 },
        { lower: 1, change: 0 },
      ],
      evaluationPeriods: IDLE_MINUTES_TO_ZERO,
      datapointsToAlarm: IDLE_MINUTES_TO_ZERO,
      cooldown: Duration.minutes(5),
    });
  }

  /** The backlog per running task: ScaleOutOnBacklog's metric, also on the dashboard. */
  static backlogPerTaskMetric(target: Pick<BacklogScalingProps, 'cluster' | 'service' | 'queue'>): cloudwatch.MathExpression {
    const oneMinute = { period: Duration.minutes(1) };
    return new cloudwatch.MathExpression({
      expression: BACKLOG_PER_TASK_EXPRESSION,
      usingMetrics: {
        visible: target.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...oneMinute }),
        inflight: target.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', ...oneMinute }),
        running: serviceTaskMetric('RunningTaskCount', target),
      },
      label: 'Jobs per running task',
      ...oneMinute,
    });
  }
}

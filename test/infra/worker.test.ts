import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#core/config';
import { MODEL_CARD_IN_IMAGE, REPO_ROOT } from '../../infra/lib/model-card.ts';
import { COLD_START } from '../../infra/lib/constructs/backlog-scaling.ts';
import { DEFAULT_SETTINGS } from '../../infra/lib/settings.ts';
import { DEFAULT_HEARTBEAT_FILE } from '#segment/heartbeat';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesiseAll } from './stack-fixture.ts';

const ASG = 'Segment/GpuCapacity/Instances';
const CAPACITY_PROVIDER = 'Segment/GpuCapacity/CapacityProvider/CapacityProvider';
const LAUNCH_TEMPLATE = 'Segment/GpuCapacity/LaunchTemplate';

const container = (s: Synthesised) => (s.props('Segment/Task').ContainerDefinitions as Record<string, unknown>[])[0]!;
const environment = (s: Synthesised) =>
  Object.fromEntries((container(s).Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
const ssmParameterDefaults = (s: Synthesised) =>
  Object.values((s.template.toJSON().Parameters ?? {}) as Record<string, { Default?: string }>).map((p) => p.Default ?? '');
const serviceName = (s: Synthesised) => s.att('Segment/Service', 'Name');
const policies = (s: Synthesised) => s.resourcesOfType('AWS::ApplicationAutoScaling::ScalingPolicy');
const alarmOf = (s: Synthesised, policyPath: string) =>
  s.resourcesOfType('AWS::CloudWatch::Alarm').find(([, p]) => JSON.stringify(p.AlarmActions) === JSON.stringify([s.ref(policyPath)]))?.[1];
const expressionOf = (alarm: Record<string, unknown> | undefined) =>
  (alarm?.Metrics as { Expression?: string; ReturnData?: boolean }[]).find((m) => m.ReturnData !== false)?.Expression;


let gpu: Synthesised;
let spot: Synthesised;
let cpu: Synthesised;
beforeAll(async () => {
  [gpu, spot, cpu] = await synthesiseAll([
    { scenario: 'worker' },
    {
      scenario: 'worker',
      arg: { spot: true, ecsAmi: 'al2', instanceType: 'g6.xlarge', spotInstanceTypes: ['g6.xlarge', 'g5.xlarge'], natGateways: 1, maxTasks: 8 },
    },
    { scenario: 'worker', arg: { gpu: false } },
  ]);
}, FIRST_SYNTH_TIMEOUT_MS);

describe('segment worker on GPU (default)', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('reserves one GPU per task, stops gracefully within 120 s, and logs stdout (JSON logs + EMF) to its own group', () => {
    expect(gpu.props('Segment/Task')).toMatchObject({ RequiresCompatibilities: ['EC2'], NetworkMode: 'bridge' });
    expect(container(gpu)).toMatchObject({
      Name: 'segment',
      Essential: true,
      ResourceRequirements: [{ Type: 'GPU', Value: '1' }],
      StopTimeout: 120,
      LogConfiguration: { LogDriver: 'awslogs', Options: { 'awslogs-group': gpu.ref('Segment/Logs') } },
    });
  });

  it('is configured through the shared ENV names: bucket, queues, CUDA provider, batch size, model card, region', () => {
    expect(environment(gpu)).toEqual({
      [ENV.region]: { Ref: 'AWS::Region' },
      [ENV.bucket]: gpu.ref('Storage/Uploads'),
      [ENV.jobsQueueUrl]: gpu.ref('Jobs/Queue'),
      [ENV.eventsQueueUrl]: gpu.ref('Events/Queue'),
      [ENV.executionProvider]: 'cuda',
      [ENV.batchSize]: String(DEFAULT_SETTINGS.batchSize),
      [ENV.modelCard]: MODEL_CARD_IN_IMAGE,
      [ENV.heartbeatFile]: DEFAULT_HEARTBEAT_FILE,
    });
  });

  it('checks the heartbeat the worker loop refreshes (node healthcheck.ts every 30 s, 3 retries, 5 minutes to start)', () => {
    expect(container(gpu).HealthCheck).toEqual({
      Command: ['CMD', 'node', '/app/functions/segment/healthcheck.ts'],
      Interval: 30,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 300,
    });
    expect(container(cpu).HealthCheck).toEqual(container(gpu).HealthCheck);
  });

  it.each([
    ['GPU', () => gpu],
    ['CPU (Fargate)', () => cpu],
  ])('%s: the service is created after the cluster\'s capacity provider association (and deleted before it)', (_, variant) => {
    const s = variant();
    const [association] = s.resourcesOfType('AWS::ECS::ClusterCapacityProviderAssociations').map(([id]) => id);
    const service = (s.template.toJSON().Resources as Record<string, { DependsOn?: string[] }>)[s.id('Segment/Service')]!;

    expect(association).toBeDefined();
    expect(service.DependsOn).toContain(association);
  });

  it('builds the image from functions/segment/Dockerfile (gpu target, linux/amd64) with the repository root as context', () => {
    const images = Object.values(gpu.raw.dockerImages);

    expect(images).toHaveLength(1);
    expect(images[0]!.source).toEqual({
      directory: REPO_ROOT,
      dockerFile: 'functions/segment/Dockerfile',
      dockerBuildTarget: 'gpu',
      platform: 'linux/amd64',
    });
  });

  it('launches instances from the ECS GPU-optimised Amazon Linux 2023 AMI, with IMDSv2 and an encrypted root volume', () => {
    expect(gpu.props(LAUNCH_TEMPLATE).LaunchTemplateData).toMatchObject({
      InstanceType: 'g5.xlarge',
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 60, VolumeType: 'gp3' } }],
    });
    expect(JSON.stringify(gpu.props(LAUNCH_TEMPLATE).LaunchTemplateData)).toContain('ECS_ENABLE_GPU_SUPPORT=true');
    expect(ssmParameterDefaults(gpu)).toContain('/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id');
  });

  it('starts the instance group at zero behind a capacity provider with managed scaling, termination protection and draining', () => {
    expect(gpu.props(ASG)).toMatchObject({ MinSize: '0', MaxSize: String(DEFAULT_SETTINGS.maxTasks), NewInstancesProtectedFromScaleIn: true });
    expect(gpu.props(ASG).DesiredCapacity).toBeUndefined();
    expect(gpu.props(CAPACITY_PROVIDER)).toEqual({
      AutoScalingGroupProvider: {
        AutoScalingGroupArn: gpu.ref(ASG),
        ManagedScaling: { Status: 'ENABLED', TargetCapacity: 100, InstanceWarmupPeriod: 180 },
        ManagedTerminationProtection: 'ENABLED',
        ManagedDraining: 'ENABLED',
      },
    });
  });

  it('runs the service on that capacity provider from zero tasks, rolls back failed deployments, in a Container Insights cluster', () => {
    expect(gpu.props('Segment/Service')).toMatchObject({
      DesiredCount: 0,
      CapacityProviderStrategy: [{ CapacityProvider: gpu.ref(CAPACITY_PROVIDER), Weight: 1 }],
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
    });
    expect(gpu.props('Segment/Cluster').ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);
  });

  it('scales the service between 0 and maxTasks tasks', () => {
    expect(gpu.props('Scaling/Target')).toMatchObject({
      ServiceNamespace: 'ecs',
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: 0,
      MaxCapacity: DEFAULT_SETTINGS.maxTasks,
      ResourceId: { 'Fn::Join': ['', ['service/', gpu.ref('Segment/Cluster'), '/', serviceName(gpu)]] },
    });
  });

  it('scales with four step policies and no target tracking', () => {
    expect(policies(gpu).map(([, p]) => p.PolicyType)).toEqual(['StepScaling', 'StepScaling', 'StepScaling', 'StepScaling']);
    expect(policies(gpu).map(([id]) => id).sort()).toEqual(
      ['Scaling/ScaleOutFromZero', 'Scaling/Target/ScaleOutOnBacklog/UpperPolicy', 'Scaling/Target/ShedOneTask/LowerPolicy', 'Scaling/Target/ScaleInWhenIdle/LowerPolicy']
        .map((p) => gpu.id(p))
        .sort(),
    );
  });

  it('from zero starts exactly one task (ExactCapacity 1) when jobs wait and none is wanted, and waits out a GPU cold start', () => {
    expect(gpu.props('Scaling/ScaleOutFromZero')).toMatchObject({
      ScalingTargetId: gpu.ref('Scaling/Target'),
      StepScalingPolicyConfiguration: { AdjustmentType: 'ExactCapacity', Cooldown: COLD_START.gpu.toSeconds(), StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] },
    });
    const alarm = alarmOf(gpu, 'Scaling/ScaleOutFromZero');
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1 });
    expect(expressionOf(alarm)).toBe('IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)');
    expect(alarm!.Metrics).toContainEqual(
      expect.objectContaining({ Id: 'desired', MetricStat: expect.objectContaining({ Metric: expect.objectContaining({ Namespace: 'ECS/ContainerInsights', MetricName: 'DesiredTaskCount' }) }) }),
    );
    expect(COLD_START.gpu.toMinutes()).toBeGreaterThanOrEqual(5);
  });

  it('then steps up on backlog per *running* task (0 while none runs), +1/+2/+4 at 1/2/4x the target, once per cold start', () => {
    const T = DEFAULT_SETTINGS.targetBacklogPerTask;
    const alarm = alarmOf(gpu, 'Scaling/Target/ScaleOutOnBacklog/UpperPolicy');

    expect(gpu.props('Scaling/Target/ScaleOutOnBacklog/UpperPolicy').StepScalingPolicyConfiguration).toEqual({
      AdjustmentType: 'ChangeInCapacity',
      Cooldown: COLD_START.gpu.toSeconds(),
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: T, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: T, MetricIntervalUpperBound: 3 * T, ScalingAdjustment: 2 },
        { MetricIntervalLowerBound: 3 * T, ScalingAdjustment: 4 },
      ],
    });
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: T, EvaluationPeriods: 2, DatapointsToAlarm: 2 });
    expect(expressionOf(alarm)).toBe('IF(FILL(running, 0) > 0, (visible + inflight) / FILL(running, 1), 0)');
    const ids = (alarm!.Metrics as { Id: string; MetricStat?: { Metric: { MetricName: string } } }[]).filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!.Metric.MetricName]);
    expect(ids).toEqual(
      expect.arrayContaining([
        ['visible', 'ApproximateNumberOfMessagesVisible'],
        ['inflight', 'ApproximateNumberOfMessagesNotVisible'],
        ['running', 'RunningTaskCount'],
      ]),
    );
  });

  it('sheds one task after 10 minutes in which one fewer would still be under the target, and goes to zero after 15 idle minutes', () => {
    const shed = alarmOf(gpu, 'Scaling/Target/ShedOneTask/LowerPolicy');
    const idle = alarmOf(gpu, 'Scaling/Target/ScaleInWhenIdle/LowerPolicy');

    expect(gpu.props('Scaling/Target/ShedOneTask/LowerPolicy').StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
    });
    expect(shed).toMatchObject({ ComparisonOperator: 'LessThanOrEqualToThreshold', Threshold: 0, EvaluationPeriods: 10, DatapointsToAlarm: 10 });
    expect(expressionOf(shed)).toBe(`IF(FILL(running, 0) > 1 AND (visible + inflight) < (FILL(running, 0) - 1) * ${DEFAULT_SETTINGS.targetBacklogPerTask}, 0, 1)`);
    expect(gpu.props('Scaling/Target/ScaleInWhenIdle/LowerPolicy').StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'PercentChangeInCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -100 }],
    });
    expect(idle).toMatchObject({ ComparisonOperator: 'LessThanOrEqualToThreshold', Threshold: 0, EvaluationPeriods: 15, DatapointsToAlarm: 15 });
    expect(expressionOf(idle)).toBe('visible + inflight');
  });

  it('runs the instances in public subnets, behind a security group without inbound rules, when there is no NAT gateway', () => {
    expect(gpu.props(ASG).VPCZoneIdentifier).toEqual([gpu.ref('Network/Vpc/publicSubnet1/Subnet'), gpu.ref('Network/Vpc/publicSubnet2/Subnet')]);
    expect(gpu.props('Segment/GpuCapacity/SecurityGroup').SecurityGroupIngress).toBeUndefined();
    gpu.template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });
});

describe('segment worker variants', { timeout: SYNTH_TIMEOUT_MS }, () => {
  it('spot=true: mixed instances, all Spot, price-capacity-optimised over the given types, capacity rebalancing, Spot draining', () => {
    expect(spot.props(ASG)).toMatchObject({
      MinSize: '0',
      MaxSize: '8',
      CapacityRebalance: true,
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: spot.ref(LAUNCH_TEMPLATE) },
          Overrides: [{ InstanceType: 'g6.xlarge' }, { InstanceType: 'g5.xlarge' }],
        },
      },
    });
    expect(spot.props(ASG).LaunchTemplate).toBeUndefined();
    expect(JSON.stringify(spot.props(LAUNCH_TEMPLATE).LaunchTemplateData)).toContain('ECS_ENABLE_SPOT_INSTANCE_DRAINING=true');
  });

  it('spot=true: the launch template still encrypts the root volume (the evidence behind the EC26 acknowledgement)', () => {
    expect(spot.props(LAUNCH_TEMPLATE).LaunchTemplateData).toMatchObject({
      InstanceType: 'g6.xlarge',
      BlockDeviceMappings: [{ Ebs: { Encrypted: true } }],
    });
  });

  it('ecsAmi=al2 selects EcsOptimizedImage.amazonLinux2(AmiHardwareType.GPU)', () => {
    expect(ssmParameterDefaults(spot)).toContain('/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id');
  });

  it('natGateways=1 moves the instances into private subnets behind one NAT gateway', () => {
    expect(spot.props(ASG).VPCZoneIdentifier).toEqual([spot.ref('Network/Vpc/workersSubnet1/Subnet'), spot.ref('Network/Vpc/workersSubnet2/Subnet')]);
    spot.template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  it('gpu=false: a Fargate task with the CPU provider, no GPU and no instances, same graceful stop', () => {
    expect(cpu.props('Segment/Task')).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: String(DEFAULT_SETTINGS.cpuTaskCpu),
      Memory: String(DEFAULT_SETTINGS.cpuTaskMemoryMiB),
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
    expect(container(cpu).ResourceRequirements).toBeUndefined();
    expect(container(cpu).StopTimeout).toBe(120);
    expect(environment(cpu)[ENV.executionProvider]).toBe('cpu');
    cpu.template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
    cpu.template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
  });

  it('gpu=false: builds the cpu image target without the CUDA provider download', () => {
    expect(Object.values(cpu.raw.dockerImages)[0]!.source).toMatchObject({
      dockerFile: 'functions/segment/Dockerfile',
      dockerBuildTarget: 'cpu',
      dockerBuildArgs: { ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
  });

  it('gpu=false: Fargate capacity, a public IP instead of a NAT, and the same scaling from and to zero', () => {
    expect(cpu.props('Segment/Service')).toMatchObject({
      DesiredCount: 0,
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Weight: 1 }],
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
    });
    cpu.template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']) });
    expect(cpu.props('Scaling/Target')).toMatchObject({ MinCapacity: 0, MaxCapacity: DEFAULT_SETTINGS.maxTasks });
    expect(policies(cpu).map(([, p]) => p.PolicyType)).toEqual(['StepScaling', 'StepScaling', 'StepScaling', 'StepScaling']);
    expect((cpu.props('Scaling/ScaleOutFromZero').StepScalingPolicyConfiguration as { Cooldown: number }).Cooldown).toBe(COLD_START.cpu.toSeconds());
    expect((cpu.props('Scaling/Target/ScaleOutOnBacklog/UpperPolicy').StepScalingPolicyConfiguration as { Cooldown: number }).Cooldown).toBe(COLD_START.cpu.toSeconds());
  });
});

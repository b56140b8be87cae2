import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#core/config';
import { MODEL_CARD_IN_IMAGE, REPO_ROOT } from '../../infra/lib/model-card.ts';
import { DEFAULT_SETTINGS } from '../../infra/lib/settings.ts';
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
    });
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

  it('tracks backlog per task, (visible + in-flight jobs) / running tasks, with metric math in the policy', () => {
    const queueName = [{ Name: 'QueueName', Value: gpu.att('Jobs/Queue', 'QueueName') }];

    expect(gpu.props('Scaling/BacklogPerTask')).toMatchObject({
      PolicyType: 'TargetTrackingScaling',
      ScalingTargetId: gpu.ref('Scaling/Target'),
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: DEFAULT_SETTINGS.targetBacklogPerTask,
        ScaleOutCooldown: 60,
        ScaleInCooldown: 300,
        CustomizedMetricSpecification: {
          Metrics: [
            { Id: 'visible', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: queueName } }, ReturnData: false },
            { Id: 'inflight', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesNotVisible', Dimensions: queueName } }, ReturnData: false },
            {
              Id: 'running',
              MetricStat: {
                Metric: {
                  Namespace: 'ECS/ContainerInsights',
                  MetricName: 'RunningTaskCount',
                  Dimensions: [
                    { Name: 'ClusterName', Value: gpu.ref('Segment/Cluster') },
                    { Name: 'ServiceName', Value: serviceName(gpu) },
                  ],
                },
              },
              ReturnData: false,
            },
            { Id: 'backlogPerTask', Expression: '(visible + inflight) / IF(running > 0, running, 1)', ReturnData: true },
          ],
        },
      },
    });
  });

  it('adds the first task by step scaling when jobs wait and no task is wanted, and never scales in that way', () => {
    const stepPolicies = gpu.resourcesOfType('AWS::ApplicationAutoScaling::ScalingPolicy').filter(([, p]) => p.PolicyType === 'StepScaling');

    expect(stepPolicies.map(([id]) => id)).toEqual([gpu.id('Scaling/Target/ScaleOutFromZero/UpperPolicy')]);
    expect(gpu.props('Scaling/Target/ScaleOutFromZero/UpperPolicy')).toMatchObject({
      ScalingTargetId: gpu.ref('Scaling/Target'),
      StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] },
    });
    expect(gpu.props('Scaling/Target/ScaleOutFromZero/UpperAlarm')).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      AlarmActions: [gpu.ref('Scaling/Target/ScaleOutFromZero/UpperPolicy')],
    });
    const metrics = gpu.props('Scaling/Target/ScaleOutFromZero/UpperAlarm').Metrics as Record<string, unknown>[];
    expect(metrics).toContainEqual(expect.objectContaining({ Expression: 'IF(visible > 0 AND FILL(desired, 0) == 0, 1, 0)', ReturnData: true }));
    expect(metrics).toContainEqual(
      expect.objectContaining({
        Id: 'desired',
        MetricStat: expect.objectContaining({ Metric: expect.objectContaining({ Namespace: 'ECS/ContainerInsights', MetricName: 'DesiredTaskCount' }) }),
      }),
    );
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
    expect(cpu.resourcesOfType('AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => p.PolicyType).sort()).toEqual([
      'StepScaling',
      'TargetTrackingScaling',
    ]);
  });
});

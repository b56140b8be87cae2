import { Duration, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface GpuCapacityProps {
  cluster: ecs.Cluster;
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  instanceType: string;
  spot: boolean;
  /** Spot only: the types the mixed-instances policy may launch (each must have >= 1 NVIDIA GPU). */
  spotInstanceTypes: string[];
  ecsAmi: 'al2023' | 'al2';
  maxInstances: number;
}

/**
 * GPU instances for the segment service: an Auto Scaling group of ECS GPU-optimised hosts (NVIDIA
 * driver + container toolkit preinstalled) behind a capacity provider with managed scaling. The
 * group starts at zero; the capacity provider adds an instance when a task cannot be placed (one
 * task reserves the instance's one GPU) and removes idle instances, so instances follow tasks
 * and tasks follow the queue (see BacklogScaling).
 *
 * AMI: Amazon Linux 2023 by default; Amazon Linux 2 (EcsOptimizedImage.amazonLinux2(GPU)) with
 * `-c ecsAmi=al2`. AL2 left standard support on 2026-06-30, and the ECS AL2023 GPU AMI carries
 * the newer NVIDIA driver (CUDA 12 and 13 images both run).
 *
 * Spot (`-c spot=true`): a mixed-instances policy with 0 % on-demand, price-capacity-optimised
 * over several single-GPU types, capacity rebalancing, and ECS Spot draining so a two-minute
 * interruption notice stops the task gracefully (SIGTERM, 120 s stopTimeout) and its jobs return
 * to the queue.
 */
export class GpuCapacity extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly capacityProvider: ecs.AsgCapacityProvider;

  constructor(scope: Construct, id: string, props: GpuCapacityProps) {
    super(scope, id);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'GPU workers: no inbound traffic, outbound HTTPS to AWS APIs',
      allowAllOutbound: true,
    });

    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'ECS container instance (agent) role; the worker itself uses its task role',
    });

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'echo ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config',
      ...(props.spot ? ['echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config'] : []),
    );

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage:
        props.ecsAmi === 'al2'
          ? ecs.EcsOptimizedImage.amazonLinux2(ecs.AmiHardwareType.GPU)
          : ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      userData,
      role,
      securityGroup,
      // IMDSv2 with hop limit 1: containers on the bridge network cannot read instance credentials.
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          // Room for the CUDA runtime image (several GB) and its layers during updates.
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(60, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      minCapacity: 0,
      maxCapacity: props.maxInstances,
      ...(props.spot
        ? {
            mixedInstancesPolicy: {
              launchTemplate,
              instancesDistribution: {
                onDemandBaseCapacity: 0,
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
              },
              launchTemplateOverrides: props.spotInstanceTypes.map((t) => ({ instanceType: new ec2.InstanceType(t) })),
            },
            capacityRebalance: true,
          }
        : { launchTemplate }),
      // A GPU host takes minutes to boot and pull the image; do not count it before it could work.
      defaultInstanceWarmup: Duration.minutes(3),
    });
    if (props.spot) {
      Validations.of(this.autoScalingGroup).acknowledge({
        id: 'AwsSolutions-EC26',
        reason:
          "cdk-nag's EC26 rule throws on an Auto Scaling group with a mixed-instances policy (it reads LaunchTemplate, which such a group does not have). The launch template it uses encrypts its only EBS volume; test/infra/worker.test.ts asserts that.",
      });
    }
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling activity is driven by the ECS capacity provider (scale to and from zero many times a day); per-event notifications would be noise. The alarms that matter (queue age, DLQs) go to the alarm topic.',
    });

    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      targetCapacityPercent: 100,
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      instanceWarmupPeriod: 180,
    });
    props.cluster.addAsgCapacityProvider(this.capacityProvider);

    // Added by ecs.Cluster for the container agent (register, poll, submit state, telemetry).
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::ecs:Submit*]',
        reason: 'The ECS agent reports task and container state (SubmitTaskStateChange, SubmitContainerStateChange, SubmitAttachmentStateChanges); scoped to this cluster by CDK.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecs:DiscoverPollEndpoint, ecs:Poll, ecs:StartTelemetrySession and ecr:GetAuthorizationToken support no resource-level permissions, and the agent writes its own logs; register/deregister/submit are scoped to this cluster by CDK.',
      },
    );
  }
}

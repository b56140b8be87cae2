import { AspectPriority, Aspects, Aws, Duration, IgnoreMode, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#core/config';
import { BACKGROUNDS_PREFIX, INPUT_PREFIX, RESULTS_PREFIX } from '#core/resources';
import { DEFAULT_HEARTBEAT_FILE } from '#segment/heartbeat';
import { MODEL_CARD_IN_IMAGE, REPO_ROOT } from '../model-card.ts';
import { listUnderPrefixes, sqsStatement } from '../grants.ts';
import { acknowledgePrefixScopedObjects } from '../nag.ts';
import type { PipelineSettings } from '../settings.ts';
import { GpuCapacity } from './gpu-capacity.ts';

/** The worker's EMF metrics (functions/segment/metrics.ts): namespace and Service dimension. */
export const METRICS_NAMESPACE = 'Greenscreen';
export const METRICS_SERVICE = 'segment';

/** Long enough to finish the batch in flight and hand the rest back to the queue after SIGTERM. */
export const STOP_TIMEOUT = Duration.seconds(120);

/**
 * The container health check (functions/segment/heartbeat.ts): the heartbeat file must be fresh.
 * Three failures 30 s apart mark the task unhealthy and ECS replaces it; the start period (ECS's
 * longest, 5 minutes) covers loading the model and creating the CUDA session before the first beat.
 * The Dockerfile's HEALTHCHECK says the same (test/infra/dockerfile.test.ts keeps them equal).
 */
export const HEALTH_CHECK = {
  command: ['CMD', 'node', '/app/functions/segment/healthcheck.ts'],
  interval: Duration.seconds(30),
  timeout: Duration.seconds(5),
  retries: 3,
  startPeriod: Duration.minutes(5),
} as const;

/** GPU task size: fits one 4 vCPU / 16 GiB single-GPU host (g5/g6/g4dn.xlarge) with room for the agent. */
const GPU_TASK_CPU = 3072;
const GPU_TASK_MEMORY_RESERVATION_MIB = 12288;

/** The worker's own knobs come straight from the app settings (documented there). */
export interface SegmentWorkerProps
  extends Pick<
    PipelineSettings,
    | 'gpu' | 'instanceType' | 'spot' | 'spotInstanceTypes' | 'ecsAmi' | 'maxTasks' | 'batchSize'
    | 'cpuTaskCpu' | 'cpuTaskMemoryMiB' | 'logRetentionDays'
  > {
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  /** Public subnets: Fargate tasks need a public IP to reach AWS APIs without a NAT. */
  publicSubnets: boolean;
  bucket: s3.IBucket;
  jobsQueue: sqs.IQueue;
  eventsQueue: sqs.IQueue;
}

/**
 * The segment worker: a long-running container (functions/segment/main.ts) that polls the jobs
 * queue, runs the Tiramisu model and writes results. GPU by default (ECS on EC2, one GPU per
 * task); `-c gpu=false` runs the same code on Fargate with the CPU execution provider.
 *
 * The image is built from functions/segment/Dockerfile with the repository root as the context
 * (see .dockerignore). `cdk synth` only fingerprints that context; the build happens at deploy.
 */
export class SegmentWorker extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Ec2Service | ecs.FargateService;
  readonly taskDefinition: ecs.TaskDefinition;
  readonly logGroup: logs.LogGroup;
  readonly capacity: GpuCapacity | undefined;

  constructor(scope: Construct, id: string, props: SegmentWorkerProps) {
    super(scope, id);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      // Container Insights publishes RunningTaskCount, which the backlog-per-task scaling divides by.
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const image = ecs.ContainerImage.fromAsset(REPO_ROOT, {
      file: 'functions/segment/Dockerfile',
      target: props.gpu ? 'gpu' : 'cpu',
      // The CPU image needs no CUDA provider libraries (hundreds of MB) from onnxruntime-node.
      ...(props.gpu ? {} : { buildArgs: { ONNXRUNTIME_NODE_INSTALL: 'skip' } }),
      platform: Platform.LINUX_AMD64,
      ignoreMode: IgnoreMode.DOCKER,
    });

    this.taskDefinition = props.gpu
      ? new ecs.Ec2TaskDefinition(this, 'Task', { networkMode: ecs.NetworkMode.BRIDGE })
      : new ecs.FargateTaskDefinition(this, 'Task', {
          cpu: props.cpuTaskCpu,
          memoryLimitMiB: props.cpuTaskMemoryMiB,
          runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
        });

    this.taskDefinition.addContainer('segment', {
      image,
      essential: true,
      stopTimeout: STOP_TIMEOUT,
      // stdout carries the JSON logs and the EMF metric lines; CloudWatch Logs extracts the metrics.
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'segment', logGroup: this.logGroup }),
      environment: {
        [ENV.region]: Aws.REGION,
        [ENV.bucket]: props.bucket.bucketName,
        [ENV.jobsQueueUrl]: props.jobsQueue.queueUrl,
        [ENV.eventsQueueUrl]: props.eventsQueue.queueUrl,
        [ENV.executionProvider]: props.gpu ? 'cuda' : 'cpu',
        [ENV.batchSize]: String(props.batchSize),
        [ENV.modelCard]: MODEL_CARD_IN_IMAGE,
        [ENV.heartbeatFile]: DEFAULT_HEARTBEAT_FILE,
      },
      healthCheck: { ...HEALTH_CHECK, command: [...HEALTH_CHECK.command] },
      ...(props.gpu ? { gpuCount: 1, cpu: GPU_TASK_CPU, memoryReservationMiB: GPU_TASK_MEMORY_RESERVATION_MIB } : {}),
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds only non-secret configuration (bucket name, queue URLs, batch size, provider); the worker needs no secrets.',
    });

    this.grantWork(props);

    if (props.gpu) {
      this.capacity = new GpuCapacity(this, 'GpuCapacity', {
        cluster: this.cluster,
        vpc: props.vpc,
        subnets: props.subnets,
        instanceType: props.instanceType,
        spot: props.spot,
        spotInstanceTypes: props.spotInstanceTypes,
        ecsAmi: props.ecsAmi,
        maxInstances: props.maxTasks,
      });
      this.service = new ecs.Ec2Service(this, 'Service', {
        cluster: this.cluster,
        taskDefinition: this.taskDefinition,
        // Scaling owns the count from here on; CloudFormation only sets it on create.
        desiredCount: 0,
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        circuitBreaker: { rollback: true },
        capacityProviderStrategies: [{ capacityProvider: this.capacity.capacityProvider.capacityProviderName, weight: 1 }],
      });
    } else {
      this.capacity = undefined;
      this.cluster.enableFargateCapacityProviders();
      const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        description: 'CPU workers: no inbound traffic, outbound HTTPS to AWS APIs',
        allowAllOutbound: true,
      });
      this.service = new ecs.FargateService(this, 'Service', {
        cluster: this.cluster,
        taskDefinition: this.taskDefinition as ecs.FargateTaskDefinition,
        desiredCount: 0,
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        circuitBreaker: { rollback: true },
        vpcSubnets: props.subnets,
        assignPublicIp: props.publicSubnets,
        securityGroups: [securityGroup],
        capacityProviderStrategies: [{ capacityProvider: props.spot ? 'FARGATE_SPOT' : 'FARGATE', weight: 1 }],
      });
    }
    dependOnCapacityProviderAssociation(this.cluster, this.service);
  }

  /**
   * Least privilege for the task role, exactly the worker's rows of infra/lib/access-contract.ts:
   * consume jobs, send events, read uploads and backgrounds, read and write results, and list
   * those three prefixes so that a missing key reads as 404 (a deleted upload, a missing
   * background, no result yet), which the code takes as an answer, rather than 403.
   */
  private grantWork(props: SegmentWorkerProps): void {
    const role = this.taskDefinition.taskRole;
    role.addToPrincipalPolicy(sqsStatement('ConsumeJobs', props.jobsQueue, ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']));
    role.addToPrincipalPolicy(sqsStatement('SendEvents', props.eventsQueue, ['sqs:SendMessage']));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadUploads',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${INPUT_PREFIX}*`)],
      }),
    );
    // backgrounds/: images that output options name as a background (image:backgrounds/…).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadBackgrounds',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${BACKGROUNDS_PREFIX}*`)],
      }),
    );
    // results/: write mask, cutout and result.json; read result.json back to recognise a redelivered job.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteResults',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.bucket.arnForObjects(`${RESULTS_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(listUnderPrefixes('TellMissingKeys', props.bucket, [INPUT_PREFIX, BACKGROUNDS_PREFIX, RESULTS_PREFIX]));
    acknowledgePrefixScopedObjects(
      role,
      props.bucket,
      [INPUT_PREFIX, RESULTS_PREFIX, BACKGROUNDS_PREFIX],
      'read uploads, write and re-read results, read the background images that output options name.',
    );
    if (this.taskDefinition.executionRole) {
      Validations.of(this.taskDefinition.executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken (pulling the image) supports no resource-level permissions; the layer actions are scoped to the asset repository.',
      });
    }
  }
}

/**
 * A service whose capacity provider strategy names a provider must be created after the cluster's
 * AWS::ECS::ClusterCapacityProviderAssociations, or CloudFormation may create it first and fail
 * ("capacity provider … is not associated with the cluster"), and delete the association before
 * the service on teardown. CDK creates the association in an aspect at synth (priority MUTATING),
 * so the dependency is added by an aspect that runs after it (DEFAULT), for GPU and Fargate alike.
 */
function dependOnCapacityProviderAssociation(cluster: ecs.Cluster, service: ecs.BaseService): void {
  Aspects.of(cluster).add(
    {
      visit(node) {
        if (node !== cluster) return;
        for (const child of cluster.node.children) {
          if (child instanceof ecs.CfnClusterCapacityProviderAssociations) service.node.addDependency(child);
        }
      },
    },
    { priority: AspectPriority.DEFAULT },
  );
}

import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { BacklogScaling, COLD_START } from './constructs/backlog-scaling.ts';
import { BatchOperationsRole } from './constructs/batch-operations-role.ts';
import { Ingest } from './constructs/ingest.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Network } from './constructs/network.ts';
import { Notify } from './constructs/notify.ts';
import { SegmentWorker } from './constructs/segment-worker.ts';
import { Storage } from './constructs/storage.ts';
import { WorkQueue } from './constructs/work-queue.ts';
import { readModelVersion } from './model-card.ts';
import type { PipelineSettings } from './settings.ts';

export interface PipelineStackProps extends StackProps {
  settings: PipelineSettings;
  /** Override for tests; defaults to models/tiramisu.card.json. */
  modelCardPath?: string;
}

/**
 * S3 upload -> ingest Lambda -> FIFO jobs queue -> GPU ECS worker -> events queue -> notify Lambda
 * (Standard Webhooks). One construct per concern; this class only wires them together.
 */
export class PipelineStack extends Stack {
  readonly storage: Storage;
  readonly jobs: WorkQueue;
  readonly events: WorkQueue;
  readonly ingest: Ingest;
  readonly notify: Notify;
  readonly worker: SegmentWorker;
  readonly scaling: BacklogScaling;
  readonly batchOperations: BatchOperationsRole;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { settings } = props;

    const model = readModelVersion(settings.modelVersionFallback, props.modelCardPath);
    if (model.source === 'fallback') {
      Annotations.of(this).addWarningV2(
        'greenscreen:model-card-missing',
        `models/tiramisu.card.json not found: jobs are stamped with model version "${model.version}" (context "modelVersion"). Export the model before deploying.`,
      );
    }

    this.storage = new Storage(this, 'Storage', settings);
    // maxReceiveCount (RESOURCE_DEFAULTS). Jobs, 5: the worker retries transient S3/SQS errors
    // itself and keeps extending the visibility of jobs it works on, so a job received 5 times has
    // crashed or timed out a worker 5 times: poison, park it before it eats more GPU time.
    // Events, 15: every receive is one webhook delivery attempt, spaced by notify's exponential
    // backoff (ChangeMessageVisibility), so a receiver gets 15 tries (up to ~1.5 h) before the event
    // is parked. docs/deploy.md quotes both numbers; test/infra/deploy-doc.test.ts keeps them equal.
    this.jobs = new WorkQueue(this, 'Jobs', { defaults: RESOURCE_DEFAULTS.jobsQueue, highThroughputFifo: true });
    this.events = new WorkQueue(this, 'Events', { defaults: RESOURCE_DEFAULTS.eventsQueue });

    this.ingest = new Ingest(this, 'Ingest', {
      bucket: this.storage.bucket,
      jobsQueue: this.jobs.queue,
      modelVersion: model.version,
      logRetentionDays: settings.logRetentionDays,
      outputProfiles: settings.outputProfiles,
      reservedConcurrency: settings.ingestConcurrency,
    });

    const network = new Network(this, 'Network', { natGateways: settings.natGateways, logRetentionDays: settings.logRetentionDays });
    this.worker = new SegmentWorker(this, 'Segment', {
      ...settings,
      vpc: network.vpc,
      subnets: network.workerSubnets,
      publicSubnets: network.publicWorkers,
      bucket: this.storage.bucket,
      jobsQueue: this.jobs.queue,
      eventsQueue: this.events.queue,
    });
    this.scaling = new BacklogScaling(this, 'Scaling', {
      cluster: this.worker.cluster,
      service: this.worker.service,
      queue: this.jobs.queue,
      maxTasks: settings.maxTasks,
      targetBacklogPerTask: settings.targetBacklogPerTask,
      coldStart: settings.gpu ? COLD_START.gpu : COLD_START.cpu,
    });

    this.notify = new Notify(this, 'Notify', {
      bucket: this.storage.bucket,
      eventsQueue: this.events.queue,
      presignSeconds: settings.presignSeconds,
      logRetentionDays: settings.logRetentionDays,
    });

    this.batchOperations = new BatchOperationsRole(this, 'BatchOperations', {
      bucket: this.storage.bucket,
      ingestFunction: this.ingest.handler.function,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      jobsQueue: this.jobs.queue,
      eventsQueue: this.events.queue,
      deadLetterQueues: {
        JobsDeadLetters: this.jobs.deadLetterQueue,
        EventsDeadLetters: this.events.deadLetterQueue,
        IngestFailures: this.ingest.failures,
      },
      cluster: this.worker.cluster,
      service: this.worker.service,
      alarmEmail: settings.alarmEmail,
      oldestJobAgeAlarmSeconds: settings.oldestJobAgeAlarmSeconds,
    });

    this.outputs(model.version);
  }

  private outputs(modelVersion: string): void {
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('BucketName', this.storage.bucket.bucketName, 'Upload photos to incoming/; results appear under results/');
    out('JobsQueueUrl', this.jobs.queue.queueUrl, 'FIFO queue of segment jobs');
    out('JobsDeadLetterQueueUrl', this.jobs.deadLetterQueue.queueUrl, 'Jobs that failed maxReceiveCount times');
    out('EventsQueueUrl', this.events.queue.queueUrl, 'Job events for the webhook notifier');
    out('EventsDeadLetterQueueUrl', this.events.deadLetterQueue.queueUrl, 'Events whose webhooks failed maxReceiveCount times');
    out('IngestFunctionArn', this.ingest.handler.function.functionArn, 'Ingest function: target of S3 Batch Operations jobs');
    out('BatchOperationsRoleArn', this.batchOperations.role.roleArn, 'Role for S3 Batch Operations re-processing jobs');
    out('SubscriptionsSecretArn', this.notify.subscriptions.secretArn, 'Webhook subscriptions (JSON array)');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'Alarm notifications');
    out('ModelVersion', modelVersion, 'Model version stamped on new jobs');
    // For the teardown procedure (docs/deploy.md): scale the worker to zero before `cdk destroy`.
    out('WorkerClusterName', this.worker.cluster.clusterName, 'ECS cluster of the segment worker');
    out('WorkerServiceName', this.worker.service.serviceName, 'ECS service of the segment worker');
    if (this.worker.capacity) {
      out('WorkerAutoScalingGroupName', this.worker.capacity.autoScalingGroup.autoScalingGroupName, 'GPU instances of the segment worker');
    }
  }
}

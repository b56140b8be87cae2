import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#core/config';
import { RESOURCE_DEFAULTS, RESULTS_PREFIX } from '#core/resources';
import { sqsStatement } from '../grants.ts';
import { acknowledgePrefixScopedObjects } from '../nag.ts';
import { PipelineFunction } from './pipeline-function.ts';

/**
 * AWS: an SQS event source's visibility timeout should be at least six times the function timeout
 * (a batch that times out, and its retries, must not become visible while still being worked on).
 * RESOURCE_DEFAULTS gives the queue 90 s, so notify may run 15 s.
 */
export const NOTIFY_TIMEOUT_SECONDS = Math.floor(RESOURCE_DEFAULTS.eventsQueue.visibilityTimeoutSeconds / 6);
/** Per-webhook HTTP timeout: records (and their subscriptions) are delivered concurrently, so one
 * slow endpoint costs at most this, leaving room for the secret read and presigning. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Records per invocation (delivered concurrently by the handler). */
export const NOTIFY_BATCH_SIZE = 10;

export interface NotifyProps {
  bucket: s3.IBucket;
  eventsQueue: sqs.IQueue;
  presignSeconds: number;
  logRetentionDays: number;
}

/**
 * Events queue -> notify function -> Standard Webhooks to the subscribers in a Secrets Manager
 * secret. The stack creates the secret holding `[]`; operators put their subscriptions in with
 * `aws secretsmanager put-secret-value` (docs/deploy.md). CloudFormation only rewrites the value
 * if this template's `[]` changes, so deployments never clobber what operators stored.
 */
export class Notify extends Construct {
  readonly handler: PipelineFunction;
  readonly subscriptions: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: NotifyProps) {
    super(scope, id);

    this.subscriptions = new secretsmanager.Secret(this, 'Subscriptions', {
      secretName: 'greenscreen/webhook-subscriptions',
      description:
        'JSON array of webhook subscriptions [{"prefix":"incoming/...","url":"https://...","secrets":["whsec_..."]}]; two secrets per subscription during rotation',
      secretStringValue: SecretValue.unsafePlainText('[]'),
    });
    Validations.of(this.subscriptions).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Webhook signing secrets are shared with each receiver, so rotation is a two-party procedure: add the new whsec_ secret next to the old one (both sign), let the receiver switch, then remove the old one (docs/deploy.md). A rotation Lambda cannot update the receivers.',
    });

    const timeout = Duration.seconds(NOTIFY_TIMEOUT_SECONDS);
    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'functions/notify/handler.ts',
      serviceName: 'notify',
      description: 'Job events -> signed Standard Webhooks with presigned result URLs',
      timeout,
      logRetentionDays: props.logRetentionDays,
      environment: {
        [ENV.subscriptionsSecretArn]: this.subscriptions.secretArn,
        [ENV.eventsQueueUrl]: props.eventsQueue.queueUrl,
        [ENV.bucket]: props.bucket.bucketName,
        [ENV.presignSeconds]: String(props.presignSeconds),
        [ENV.webhookTimeoutMs]: String(WEBHOOK_TIMEOUT_MS),
      },
    });
    const fn = this.handler.function;

    // The mapping itself, and exactly notify's rows of infra/lib/access-contract.ts: the mapping
    // receives, deletes and reads the queue's attributes; the handler's backoff changes visibility;
    // the handler reads the secret's value (SqsEventSource and secret.grantRead would add
    // sqs:GetQueueUrl and secretsmanager:DescribeSecret, which nothing calls).
    fn.addEventSourceMapping('EventsQueue', {
      eventSourceArn: props.eventsQueue.queueArn,
      batchSize: NOTIFY_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: 10,
    });
    fn.addToRolePolicy(
      sqsStatement('ConsumeEvents', props.eventsQueue, ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadSubscriptions', actions: ['secretsmanager:GetSecretValue'], resources: [this.subscriptions.secretArn] }));
    // Presigned URLs carry the signer's permissions: notify may read results/ and nothing else.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PresignResults',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${RESULTS_PREFIX}*`)],
      }),
    );
    acknowledgePrefixScopedObjects(this.handler.role, props.bucket, [RESULTS_PREFIX], 'presigned GET URLs for result files.');
  }
}

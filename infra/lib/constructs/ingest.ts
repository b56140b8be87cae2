import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#core/config';
import type { OutputProfile } from '#core/output-options';
import { INPUT_PREFIX, RESOURCE_DEFAULTS, RESULTS_PREFIX } from '#core/resources';
import { listUnderPrefixes, SendOnlySqsDestination, sqsStatement } from '../grants.ts';
import { acknowledgePrefixScopedObjects } from '../nag.ts';
import { PipelineFunction } from './pipeline-function.ts';

export interface IngestProps {
  bucket: s3.IBucket;
  jobsQueue: sqs.IQueue;
  modelVersion: string;
  logRetentionDays: number;
  /** Output profiles by prefix; none = the defaults for every upload. */
  outputProfiles?: OutputProfile[];
  /**
   * Reserved concurrency (0: none). A bulk upload of 100,000 photos is 100,000 asynchronous
   * invocations at once; with a ceiling, Lambda queues and retries the throttled ones (for up to
   * 6 hours) instead of letting ingest take the account's whole concurrency from other functions.
   */
  reservedConcurrency?: number;
}

/**
 * S3 ObjectCreated:* under incoming/ -> ingest function -> jobs queue. The same function is the
 * target of S3 Batch Operations jobs (bulk re-processing), which invoke it synchronously.
 *
 * S3 invokes asynchronously: Lambda retries a failed invocation twice, then the event goes to an
 * on-failure queue (with the error and the original event) that has its own alarm, so no upload
 * is silently dropped. Retries are safe: job ids are deterministic and the FIFO jobs queue
 * de-duplicates them.
 */
export class Ingest extends Construct {
  readonly handler: PipelineFunction;
  readonly failures: sqs.Queue;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);

    this.failures = new sqs.Queue(this, 'Failures', {
      queueName: 'greenscreen-ingest-failures',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(RESOURCE_DEFAULTS.dlqRetentionDays),
    });
    Validations.of(this.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the on-failure destination of the ingest function (a dead-letter queue by role); it is watched by a depth alarm.',
    });

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'functions/ingest/handler.ts',
      serviceName: 'ingest',
      description: 'S3 upload / Batch Operations task -> segment job on the FIFO jobs queue',
      timeout: Duration.seconds(30),
      logRetentionDays: props.logRetentionDays,
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      environment: {
        [ENV.bucket]: props.bucket.bucketName,
        [ENV.jobsQueueUrl]: props.jobsQueue.queueUrl,
        [ENV.inputPrefix]: INPUT_PREFIX,
        [ENV.modelVersion]: props.modelVersion,
        ...(props.outputProfiles?.length ? { [ENV.outputProfiles]: JSON.stringify(props.outputProfiles) } : {}),
      },
    });
    const fn = this.handler.function;
    fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SendOnlySqsDestination(this.failures, 'ParkFailedEvents') });

    // Exactly the calls infra/lib/access-contract.ts lists for ingest: send jobs; HEAD the upload
    // (size, ETag, metadata) and the existing result.json (is it up to date?), both authorised by
    // s3:GetObject; and s3:ListBucket on those prefixes, so that a key that does not exist reads
    // as 404, which the code takes as an answer ("no result yet"), not 403.
    fn.addToRolePolicy(sqsStatement('SendJobs', props.jobsQueue, ['sqs:SendMessage']));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadUploadAndResultMetadata',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${INPUT_PREFIX}*`), props.bucket.arnForObjects(`${RESULTS_PREFIX}*`)],
      }),
    );
    fn.addToRolePolicy(listUnderPrefixes('TellMissingUploadsAndResults', props.bucket, [INPUT_PREFIX, RESULTS_PREFIX]));

    acknowledgePrefixScopedObjects(this.handler.role, props.bucket, [INPUT_PREFIX, RESULTS_PREFIX], 'HEAD of uploads and of existing result.json files.');

    props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(fn), { prefix: INPUT_PREFIX });
    acknowledgeNotificationsHandler(Stack.of(this));
  }
}

/**
 * bucket.addEventNotification adds one CDK-provided custom resource per stack (id
 * BucketNotificationsHandler<uuid>) that writes the bucket's notification configuration.
 */
function acknowledgeNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) return;
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'CDK-provided custom resource (runs only during deployments to set the bucket notification); the managed policy only lets it write its own CloudWatch logs.',
  });
}

import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RESOURCE_DEFAULTS } from '#core/resources';

/** One entry of RESOURCE_DEFAULTS (jobsQueue or eventsQueue). */
export interface QueueDefaults {
  readonly name: string;
  readonly dlqName: string;
  readonly fifo: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
}

export interface WorkQueueProps {
  defaults: QueueDefaults;
  /** FIFO only: de-duplicate and throttle per message group (high-throughput FIFO). */
  highThroughputFifo?: boolean;
}

/**
 * A queue and its dead-letter queue, named and tuned by RESOURCE_DEFAULTS so the deployed queues
 * and local mode's emulated ones are the same. SQS-managed server-side encryption (SSE-SQS: no
 * KMS key to manage or pay for) and a TLS-only queue policy on both.
 *
 * maxReceiveCount comes from RESOURCE_DEFAULTS, where each value is argued: a message received
 * that many times without being deleted is poison (a crash, a timeout, a bug), and moving it
 * aside keeps it from blocking or burning capacity, while a DLQ alarm tells a person.
 */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const { defaults } = props;
    const fifo = defaults.fifo ? { fifo: true } : {};

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: defaults.dlqName,
      ...fifo,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Longer than the source queue's retention (4 days): SQS keeps a message's original enqueue
      // time when it moves it, so a shorter DLQ retention would silently drop old poison messages.
      retentionPeriod: Duration.days(RESOURCE_DEFAULTS.dlqRetentionDays),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue (the redrive target of its sibling); it is watched by a depth alarm.',
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: defaults.name,
      ...fifo,
      ...(defaults.fifo && props.highThroughputFifo
        ? { deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP, fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID }
        : {}),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(defaults.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: defaults.maxReceiveCount },
    });
  }
}

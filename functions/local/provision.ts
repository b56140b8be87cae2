/**
 * Creates the bucket, queues and DLQs that the CDK stack creates, from the same settings
 * (core/resources.ts), through the real SDK: works against the embedded emulator or any
 * S3/SQS-compatible endpoint. Idempotent.
 */
import { CreateBucketCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { startEmulator } from './emulator.ts';

export interface ProvisionedResources {
  bucket: string;
  jobsQueueUrl: string;
  jobsDlqUrl: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
}

type QueueSettings = (typeof RESOURCE_DEFAULTS)['jobsQueue'] | (typeof RESOURCE_DEFAULTS)['eventsQueue'];

async function createQueueWithDlq(sqs: SQSClient, q: QueueSettings, overrides: { maxReceiveCount?: number; visibilitySeconds?: number }) {
  const fifo: Record<string, string> = q.fifo ? { FifoQueue: 'true' } : {};
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: q.dlqName,
      Attributes: { ...fifo, MessageRetentionPeriod: String(RESOURCE_DEFAULTS.dlqRetentionDays * 86400) },
    }),
  );
  const arn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }));
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: q.name,
      Attributes: {
        ...fifo,
        VisibilityTimeout: String(overrides.visibilitySeconds ?? q.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arn.Attributes!.QueueArn,
          maxReceiveCount: overrides.maxReceiveCount ?? q.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: main.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/** `maxReceiveCount` and `visibilitySeconds`, when given, apply to both queues (tests shorten them). */
export async function provisionResources(
  s3: S3Client,
  sqs: SQSClient,
  options: { bucket?: string; maxReceiveCount?: number; visibilitySeconds?: number } = {},
): Promise<ProvisionedResources> {
  const bucket = options.bucket ?? RESOURCE_DEFAULTS.bucketName;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = err instanceof S3ServiceException ? err.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
  const jobs = await createQueueWithDlq(sqs, RESOURCE_DEFAULTS.jobsQueue, options);
  const events = await createQueueWithDlq(sqs, RESOURCE_DEFAULTS.eventsQueue, options);
  return { bucket, jobsQueueUrl: jobs.url, jobsDlqUrl: jobs.dlqUrl, eventsQueueUrl: events.url, eventsDlqUrl: events.dlqUrl };
}

/** The embedded emulator with the pipeline's bucket and queues already created (benchmarks, tools). */
export async function startProvisionedEmulator(
  options: { port?: number } = {},
): Promise<{ endpoint: string; resources: ProvisionedResources; stop: () => Promise<void> }> {
  const emulator = await startEmulator(options);
  const conn = { region: 'us-east-1', endpoint: emulator.endpoint };
  const s3 = createS3Client(conn);
  const sqs = createSqsClient(conn);
  try {
    return { endpoint: emulator.endpoint, resources: await provisionResources(s3, sqs), stop: () => emulator.stop() };
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

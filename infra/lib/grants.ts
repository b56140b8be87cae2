/**
 * Policy statements the constructs share, written out instead of CDK's grant helpers so that each
 * role holds exactly the calls infra/lib/access-contract.ts lists (queue.grantSendMessages, for
 * instance, adds sqs:GetQueueAttributes and sqs:GetQueueUrl, which no code of ours calls).
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * s3:ListBucket limited to key prefixes, for code that takes a missing key as an answer. Without
 * s3:ListBucket, S3 answers a HEAD or GET of a missing key with 403 instead of 404 (HeadObject,
 * "Permissions"); for that check S3 evaluates ListBucket with the object key as s3:prefix, so
 * `<prefix>*` is enough, and a listing outside those prefixes stays denied.
 */
export function listUnderPrefixes(sid: string, bucket: s3.IBucket, prefixes: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
  });
}

export function sqsStatement(sid: string, queue: sqs.IQueue, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions, resources: [queue.queueArn] });
}

/**
 * A Lambda on-failure destination that grants the function's role sqs:SendMessage on the queue and
 * nothing else (SqsDestination grants GetQueueAttributes and GetQueueUrl as well).
 */
export class SendOnlySqsDestination implements lambda.IDestination {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly sid: string,
  ) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(sqsStatement(this.sid, this.queue, ['sqs:SendMessage']));
    return { destination: this.queue.queueArn };
  }
}

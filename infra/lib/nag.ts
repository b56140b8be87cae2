/**
 * Helpers for cdk-nag 3 acknowledgements. cdk-nag 3 matches a granular finding by its exact id,
 * e.g. `AwsSolutions-IAM5[Resource::<UploadsBucket1A2B3C.Arn>/incoming/*]`, so ids that name a
 * resource are computed from the construct here instead of pasting its generated logical id.
 */
import { Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

export function logicalIdOf(resource: IConstruct): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnResource;
  return Stack.of(resource).resolve(cfn.logicalId) as string;
}

/** The IAM5 finding for a statement on `<bucket ARN>/<prefix>*`. */
export function objectPrefixFinding(bucket: s3.IBucket, prefix: string): string {
  return `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${prefix}*]`;
}

/**
 * Acknowledge object-level grants limited to key prefixes. S3 object ARNs can only be scoped to a
 * prefix with a trailing wildcard; that wildcard is the least privilege S3 IAM can express.
 */
export function acknowledgePrefixScopedObjects(principal: IConstruct, bucket: s3.IBucket, prefixes: string[], why: string): void {
  for (const prefix of prefixes) {
    Validations.of(principal).acknowledge({
      id: objectPrefixFinding(bucket, prefix),
      reason: `Object permissions scoped to the ${prefix} key prefix (S3 object ARNs need a trailing wildcard to name a prefix): ${why}`,
    });
  }
}

import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MANIFESTS_PREFIX, REPORTS_PREFIX } from '#core/resources';
import { acknowledgePrefixScopedObjects } from '../nag.ts';

export interface BatchOperationsRoleProps {
  bucket: s3.IBucket;
  ingestFunction: lambda.IFunction;
}

/**
 * The role an S3 Batch Operations job assumes to re-process many uploads at once (a new model
 * version, a bug fix): it invokes the ingest function once per manifest entry (invocation schema
 * 2.0), reads the CSV manifest from manifests/ and writes the completion report to reports/.
 * Nothing else: it cannot read photos (ingest does, with its own role).
 */
export class BatchOperationsRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BatchOperationsRoleProps) {
    super(scope, id);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('batchoperations.s3.amazonaws.com'),
      description: 'S3 Batch Operations: invoke the ingest function for each manifest entry (bulk re-processing)',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeIngest',
        actions: ['lambda:InvokeFunction'],
        // The unqualified ARN only (the job names the function without a version or alias).
        resources: [props.ingestFunction.functionArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadManifests',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [props.bucket.arnForObjects(`${MANIFESTS_PREFIX}*`)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteCompletionReports',
        actions: ['s3:PutObject'],
        resources: [props.bucket.arnForObjects(`${REPORTS_PREFIX}*`)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LocateReportBucket',
        actions: ['s3:GetBucketLocation'],
        resources: [props.bucket.bucketArn],
      }),
    );
    acknowledgePrefixScopedObjects(this.role, props.bucket, [MANIFESTS_PREFIX, REPORTS_PREFIX], 'read job manifests, write completion reports.');
  }
}

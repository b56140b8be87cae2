import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { INPUT_PREFIX, REPORTS_PREFIX, RESOURCE_DEFAULTS, RESULTS_PREFIX } from '#core/resources';

export interface StorageProps {
  /** results/: days until Standard-IA (0: never). */
  resultsTransitionDays: number;
  /** results/: days until deletion (0: never). */
  resultsExpirationDays: number;
  /** incoming/: days until deletion (0: never). */
  incomingExpirationDays: number;
}

/**
 * One bucket for uploads (incoming/) and results (results/):
 * - one set of permissions, one lifecycle policy, one place to look; results mirror the source key
 *   (results/<source key>/...), which is only unambiguous inside one bucket;
 * - the S3 notification is filtered to incoming/, so writing results/ can never trigger ingest
 *   (no recursion), and IAM grants are prefix-scoped (the worker cannot write incoming/).
 *
 * Decisions:
 * - Encryption: SSE-S3. SSE-KMS would add a KMS request (and its cost) to every photo read and
 *   written, and a kms:Decrypt grant to every reader (the worker, and notify, whose role signs the
 *   presigned URLs), for no extra protection here: IAM, Block Public Access and TLS-only bucket
 *   policies do the access control, and nobody needs a separate key audit trail or key revocation.
 * - Versioning: off. Results are derived and can be rebuilt with S3 Batch Operations; uploads are
 *   the user's copy. Versioning would keep every overwritten result.json and every re-uploaded
 *   photo forever (or until a lifecycle rule) at full price.
 * - Server access logs: on, into a separate bucket (a bucket must not log into itself), kept 90 days.
 * - The bucket is RETAINED on `cdk destroy`: it holds user data.
 */
export class Storage extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target bucket; logging its own accesses would log into itself.',
    });

    const lifecycleRules: s3.LifecycleRule[] = [
      { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      { id: 'expire-batch-reports', prefix: REPORTS_PREFIX, expiration: Duration.days(90) },
    ];
    if (props.resultsTransitionDays > 0 || props.resultsExpirationDays > 0) {
      lifecycleRules.push({
        id: 'results',
        prefix: RESULTS_PREFIX,
        ...(props.resultsTransitionDays > 0
          ? {
              transitions: [
                { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.resultsTransitionDays) },
              ],
            }
          : {}),
        ...(props.resultsExpirationDays > 0 ? { expiration: Duration.days(props.resultsExpirationDays) } : {}),
      });
    }
    if (props.incomingExpirationDays > 0) {
      lifecycleRules.push({ id: 'incoming', prefix: INPUT_PREFIX, expiration: Duration.days(props.incomingExpirationDays) });
    }

    this.bucket = new s3.Bucket(this, 'Uploads', {
      // Bucket names are global: the account and region make the house name unique per deployment.
      bucketName: `${RESOURCE_DEFAULTS.bucketName}-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'uploads/',
      lifecycleRules,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

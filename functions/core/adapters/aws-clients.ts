import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface AwsConnection {
  region: string;
  /** Local emulator or any S3/SQS-compatible endpoint; undefined = real AWS. */
  endpoint?: string;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Created by entry points only (never at module load). Path-style S3 for emulators. */
export function createS3Client(conn: AwsConnection): S3Client {
  return new S3Client({
    region: conn.region,
    ...(conn.endpoint
      ? { endpoint: conn.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS }
      : {}),
    maxAttempts: 4,
  });
}

export function createSqsClient(conn: AwsConnection): SQSClient {
  return new SQSClient({
    region: conn.region,
    ...(conn.endpoint ? { endpoint: conn.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
    maxAttempts: 4,
  });
}

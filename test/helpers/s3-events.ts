/** Builders for S3 ObjectCreated notifications, in the exact shape S3 sends to Lambda. */
import type { S3Event, S3EventRecord } from 'aws-lambda';

export interface S3RecordInput {
  bucket?: string;
  /** Already URL-encoded, as S3 sends it (spaces as '+'). */
  encodedKey: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  eventName?: string;
}

export function s3Record(input: S3RecordInput): S3EventRecord {
  const bucket = input.bucket ?? 'greenscreen-uploads';
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2026-11-24T12:00:00.000Z',
    eventName: input.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.7' },
    responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'greenscreen-ingest',
      bucket: { name: bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: input.encodedKey,
        size: input.size ?? 12345,
        eTag: input.eTag ?? '0123456789abcdef0123456789abcdef',
        sequencer: '0055AED6DCD90281E5',
        ...(input.versionId ? { versionId: input.versionId } : {}),
      },
    },
  };
}

export function s3Event(...records: S3RecordInput[]): S3Event {
  return { Records: records.map(s3Record) };
}

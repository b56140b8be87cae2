/**
 * Builders for events and payloads in their real shapes (`@types/aws-lambda`, core/types).
 * Each builder takes overrides; keep one section per event source.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { resultJsonKey, resultKeys } from '#core/results';
import type { JobEvent, JobResult } from '#core/types';

// ---------------------------------------------------------------------------------------------
// SQS (Lambda event source mapping)

export const TEST_REGION = 'us-east-1';
export const TEST_QUEUE_ARN = `arn:aws:sqs:${TEST_REGION}:000000000000:greenscreen-events`;

export type SqsRecordOverrides = Omit<Partial<SQSRecord>, 'attributes'> & {
  attributes?: Partial<SQSRecord['attributes']>;
};

/** One SQS record as Lambda delivers it; `body` objects are JSON-encoded. */
export function sqsRecord(body: unknown, overrides: SqsRecordOverrides = {}): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sent = String(Date.parse('2025-01-01T00:00:00Z'));
  const { attributes, ...rest } = overrides;
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${randomUUID().replace(/-/g, '')}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sent,
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: sent,
      ...attributes,
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: TEST_QUEUE_ARN,
    awsRegion: TEST_REGION,
    ...rest,
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

// ---------------------------------------------------------------------------------------------
// Job results and events (events queue)

export function jobResult(overrides: Partial<JobResult> = {}): JobResult {
  const jobId = overrides.jobId ?? 'job-0001';
  const source = overrides.source ?? {
    bucket: 'greenscreen-uploads',
    key: 'incoming/customer-a/portrait.jpg',
    etag: '9b2cf535f27731c974343645a3985328',
    size: 123_456,
  };
  const status = overrides.status ?? 'succeeded';
  return {
    v: 1,
    jobId,
    status,
    source,
    model: { name: 'tiramisu', version: '1.0.0' },
    // A failed job wrote only its result.json.
    outputs: status === 'succeeded' ? resultKeys(source.key, jobId) : { result: resultJsonKey(source.key) },
    ...(status === 'succeeded'
      ? { width: 1200, height: 1600, modelInput: { width: 224, height: 224 } }
      : { error: { code: 'INVALID_IMAGE', message: 'Expected a decodable image but received 12 bytes of text' } }),
    timingsMs: { download: 12, infer: 80, upload: 20 },
    attempts: 1,
    finishedAt: '2025-01-01T00:00:05.000Z',
    ...overrides,
  };
}

export function jobEvent(overrides: Omit<Partial<JobEvent>, 'result'> & { result?: Partial<JobResult> } = {}): JobEvent {
  const result = jobResult(overrides.result);
  return {
    v: 1,
    type: result.status === 'succeeded' ? 'job.succeeded' : 'job.failed',
    eventId: `evt_${result.jobId}`,
    ...overrides,
    result,
  };
}

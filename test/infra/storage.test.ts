import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INPUT_PREFIX, REPORTS_PREFIX, RESULTS_PREFIX } from '#core/resources';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesiseAll } from './stack-fixture.ts';

const SSE_S3 = { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] };
const ALL_PUBLIC_ACCESS_BLOCKED = { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true };

const VARIANTS = [
  { resultsTransitionDays: 0, resultsExpirationDays: 60 },
  { resultsTransitionDays: 90, resultsExpirationDays: 0 },
  { incomingExpirationDays: 14 },
  { resultsTransitionDays: 0, resultsExpirationDays: 0 },
  { bucketName: 'acme-greenscreen-photos' },
];

describe('Storage', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let s: Synthesised;
  let variants: Synthesised[];
  beforeAll(async () => {
    const all = await synthesiseAll([{ scenario: 'storage' as const }, ...VARIANTS.map((arg) => ({ scenario: 'storage' as const, arg }))]);
    s = all[0]!;
    variants = all.slice(1);
  }, FIRST_SYNTH_TIMEOUT_MS);

  it('uploads bucket: a generated name (a redeploy after destroy gets a new bucket), SSE-S3, no public access, not versioned, retained on delete', () => {
    s.template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        LoggingConfiguration: Match.anyValue(),
        BucketName: Match.absent(),
        BucketEncryption: SSE_S3,
        PublicAccessBlockConfiguration: ALL_PUBLIC_ACCESS_BLOCKED,
        VersioningConfiguration: Match.absent(),
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('-c bucketName fixes the uploads bucket name (and only that bucket)', () => {
    expect(variants[4]!.props('Storage/Uploads').BucketName).toBe('acme-greenscreen-photos');
    expect(variants[4]!.props('Storage/AccessLogs').BucketName).toBeUndefined();
  });

  it('uploads bucket logs server access to a separate, encrypted, private bucket that expires the logs', () => {
    expect(s.props('Storage/Uploads').LoggingConfiguration).toEqual({ DestinationBucketName: s.ref('Storage/AccessLogs'), LogFilePrefix: 'uploads/' });
    expect(s.props('Storage/AccessLogs')).toMatchObject({
      BucketEncryption: SSE_S3,
      PublicAccessBlockConfiguration: ALL_PUBLIC_ACCESS_BLOCKED,
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: 'Enabled' }] },
    });
    expect(s.props('Storage/AccessLogs').LoggingConfiguration).toBeUndefined();
  });

  it.each(['Storage/Uploads', 'Storage/AccessLogs'])('%s bucket policy denies every request not made over TLS', (bucket) => {
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: s.ref(bucket),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [s.arn(bucket), { 'Fn::Join': ['', [s.arn(bucket), '/*']] }],
          }),
        ]),
      },
    });
  });

  it('by default aborts stale multipart uploads, moves results to Standard-IA after 30 days, expires them after 365, and expires batch reports', () => {
    expect(s.props('Storage/Uploads').LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'abort-incomplete-multipart-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' },
        { Id: 'expire-batch-reports', Prefix: REPORTS_PREFIX, ExpirationInDays: 90, Status: 'Enabled' },
        { Id: 'results', Prefix: RESULTS_PREFIX, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], ExpirationInDays: 365, Status: 'Enabled' },
      ],
    });
  });

  it.each([
    [0, { Id: 'results', Prefix: RESULTS_PREFIX, ExpirationInDays: 60, Status: 'Enabled' }],
    [1, { Id: 'results', Prefix: RESULTS_PREFIX, Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 90 }], Status: 'Enabled' }],
    [2, { Id: 'incoming', Prefix: INPUT_PREFIX, ExpirationInDays: 14, Status: 'Enabled' }],
  ])('lifecycle follows the settings (variant %i)', (i, rule) => {
    expect((variants[i]!.props('Storage/Uploads').LifecycleConfiguration as { Rules: unknown[] }).Rules).toContainEqual(rule);
  });

  it('has no results rule when results neither transition nor expire', () => {
    const rules = (variants[3]!.props('Storage/Uploads').LifecycleConfiguration as { Rules: { Id: string }[] }).Rules;

    expect(rules.map((r) => r.Id)).toEqual(['abort-incomplete-multipart-uploads', 'expire-batch-reports']);
  });
});

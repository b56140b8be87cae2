import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, readSettings } from '../../infra/lib/settings.ts';

const from = (context: Record<string, unknown>) => readSettings((key) => context[key]);

describe('readSettings', () => {
  it('defaults: GPU g5.xlarge on demand, AL2023 GPU AMI, 0..4 tasks, public subnets, no e-mail', () => {
    expect(from({})).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS).toMatchObject({ gpu: true, instanceType: 'g5.xlarge', spot: false, ecsAmi: 'al2023', maxTasks: 4, natGateways: 0, alarmEmail: undefined });
  });

  it.each([
    [{ gpu: 'false' }, { gpu: false }],
    [{ gpu: false }, { gpu: false }],
    [{ spot: 'true' }, { spot: true }],
    [{ instanceType: 'g6.xlarge' }, { instanceType: 'g6.xlarge', spotInstanceTypes: ['g6.xlarge', 'g5.xlarge', 'g4dn.xlarge'] }],
    [{ spotInstanceTypes: 'g4dn.xlarge, g5.xlarge' }, { spotInstanceTypes: ['g5.xlarge', 'g4dn.xlarge'] }],
    [{ ecsAmi: 'al2' }, { ecsAmi: 'al2' }],
    [{ maxTasks: '10', targetBacklogPerTask: '50', batchSize: '8' }, { maxTasks: 10, targetBacklogPerTask: 50, batchSize: 8 }],
    [{ natGateways: 1 }, { natGateways: 1 }],
    [{ alarmEmail: 'ops@example.com' }, { alarmEmail: 'ops@example.com' }],
    [{ resultsTransitionDays: '0', resultsExpirationDays: '7' }, { resultsTransitionDays: 0, resultsExpirationDays: 7 }],
    [{ logRetentionDays: '90', presignSeconds: '900' }, { logRetentionDays: 90, presignSeconds: 900 }],
    [{ modelVersion: 'v3' }, { modelVersionFallback: 'v3' }],
    [{}, { bucketName: undefined, ingestConcurrency: 10 }],
    [{ bucketName: 'acme-photos.eu', ingestConcurrency: '0' }, { bucketName: 'acme-photos.eu', ingestConcurrency: 0 }],
  ])('reads %o from context (strings from -c, JSON values from cdk.json)', (context, expected) => {
    expect(from(context)).toMatchObject(expected);
  });

  it.each([
    [{ gpu: 'maybe' }, 'Expected context "gpu" to be true or false but received "maybe"'],
    [{ maxTasks: '0' }, 'Expected context "maxTasks" to be an integer from 1 to 100 but received "0"'],
    [{ maxTasks: '2.5' }, 'Expected context "maxTasks" to be an integer from 1 to 100 but received "2.5"'],
    [{ instanceType: 'big one' }, 'Expected context "instanceType" to be an EC2 instance type such as g5.xlarge but received "big one"'],
    [{ ecsAmi: 'al1' }, 'Expected context "ecsAmi" to be al2023 or al2 but received "al1"'],
    [{ alarmEmail: 'ops' }, 'Expected context "alarmEmail" to be an e-mail address but received "ops"'],
    [{ resultsTransitionDays: '7' }, 'Expected context "resultsTransitionDays" to be 0 or at least 30 (S3 Standard-IA minimum) but received 7'],
    [{ resultsTransitionDays: '60', resultsExpirationDays: '30' }, 'Expected context "resultsExpirationDays" (30) to be later than "resultsTransitionDays" (60)'],
    [{ logRetentionDays: '10' }, 'Expected context "logRetentionDays" to be one of 1, 3, 5, 7, 14, 30, 60, 90'],
    [{ bucketName: 'Greenscreen_Uploads' }, 'Expected context "bucketName" to be an S3 bucket name (3-63 of a-z, 0-9, "." and "-") but received "Greenscreen_Uploads"'],
    [{ ingestConcurrency: '-1' }, 'Expected context "ingestConcurrency" to be an integer from 0 to 1000 but received "-1"'],
  ])('rejects %o with a message naming the key', (context, message) => {
    expect(() => from(context)).toThrow(message);
  });
});

describe('readSettings: outputProfiles', () => {
  const shop = { prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#ffffff', 'max-size': 2000 } };
  it.each([
    ['a JSON array in cdk.json', [shop]],
    ['a JSON string from -c', JSON.stringify([shop])],
  ])('reads %s and checks it at synth', (_name, value) => {
    expect(from({ outputProfiles: value }).outputProfiles).toEqual([
      { prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#ffffff', 'max-size': '2000' } },
    ]);
  });

  it('fails synth on a bad profile, naming the prefix, option and value', () => {
    expect(() => from({ outputProfiles: [{ prefix: 'incoming/x/', options: { format: 'tiff' } }] })).toThrow(
      'Expected context "outputProfiles" to be valid output profiles but: Expected option format (from the profile for "incoming/x/") to be one of png, webp, avif, jpeg but received "tiff"',
    );
  });
});

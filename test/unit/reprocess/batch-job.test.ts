import type { CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { describe, expect, it } from 'vitest';
import type { Clock } from '#core/ports';
import { batchReprocessStatus, startBatchReprocess, type BatchJobDescription, type BatchJobs, type BatchReprocessOptions } from '#reprocess/batch-job';
import { ListingObjectStore } from '#test/listing-store';

const BUCKET = 'greenscreen-uploads-1a2b3c';
const ROLE = 'arn:aws:iam::123456789012:role/greenscreen-batch-operations';
const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:greenscreen-ingest';
const clock: Clock = { now: () => new Date('2026-05-06T07:08:09Z') };

class FakeBatchJobs implements BatchJobs {
  readonly created: CreateJobCommandInput[] = [];
  readonly described: [string, string][] = [];
  async accountId() {
    return '123456789012';
  }
  async createJob(input: CreateJobCommandInput) {
    this.created.push(input);
    return 'job-0001';
  }
  async describeJob(accountId: string, jobId: string): Promise<BatchJobDescription> {
    this.described.push([accountId, jobId]);
    return { jobId, status: 'Active', total: 10, succeeded: 4, failed: 1, percent: 50, failureReasons: [] };
  }
}

async function setup() {
  const store = new ListingObjectStore();
  for (const key of ['incoming/a b.jpg', 'incoming/c,d.jpg', 'incoming/sub/', 'incoming/é.png']) {
    await store.put(BUCKET, key, 'x', { contentType: 'image/jpeg' });
  }
  await store.put(BUCKET, 'results/incoming/a b.jpg/result.json', '{}', { contentType: 'application/json' });
  const jobs = new FakeBatchJobs();
  const deps = { jobs, store, clock, newRunId: () => 'rp-20260506T070809Z-abcdef' };
  const options = (o: Partial<BatchReprocessOptions> = {}): BatchReprocessOptions => ({
    bucket: BUCKET,
    prefix: 'incoming/',
    force: false,
    roleArn: ROLE,
    functionArn: FUNCTION,
    ...o,
  });
  return { store, jobs, deps, options };
}

describe('startBatchReprocess (S3 Batch Operations)', () => {
  it('generates a CSV manifest from the listing and creates the job with exactly this input', async () => {
    // Arrange
    const { store, jobs, deps, options } = await setup();
    // Act
    const res = await startBatchReprocess(deps, options());
    // Assert
    const manifest = await store.get(BUCKET, 'manifests/rp-20260506T070809Z-abcdef.csv');
    expect(manifest.body.toString('utf8')).toBe(
      `${BUCKET},incoming/a%20b.jpg\n${BUCKET},incoming/c%2Cd.jpg\n${BUCKET},incoming/%C3%A9.png\n`,
    );
    expect(res).toMatchObject({ jobId: 'job-0001', runId: 'rp-20260506T070809Z-abcdef', manifest: { objects: 3, etag: manifest.etag } });
    expect(jobs.created).toEqual([
      {
        AccountId: '123456789012',
        ConfirmationRequired: false,
        Operation: {
          LambdaInvoke: { FunctionArn: FUNCTION, InvocationSchemaVersion: '2.0', UserArguments: { force: 'false' } },
        },
        Manifest: {
          Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
          Location: { ObjectArn: `arn:aws:s3:::${BUCKET}/manifests/rp-20260506T070809Z-abcdef.csv`, ETag: manifest.etag },
        },
        Report: {
          Bucket: `arn:aws:s3:::${BUCKET}`,
          Prefix: 'reports',
          Format: 'Report_CSV_20180820',
          Enabled: true,
          ReportScope: 'AllTasks',
        },
        Priority: 10,
        RoleArn: ROLE,
        ClientRequestToken: 'rp-20260506T070809Z-abcdef',
        Description: `greenscreen reprocess s3://${BUCKET}/incoming/ (rp-20260506T070809Z-abcdef)`,
      },
    ]);
  });

  it('passes force and model as user arguments', async () => {
    const { jobs, deps, options } = await setup();
    await startBatchReprocess(deps, options({ force: true, modelVersion: 'tiramisu-2.1', priority: 50 }));
    const input = jobs.created[0]!;
    expect(input.Operation?.LambdaInvoke?.UserArguments).toEqual({ force: 'true', model: 'tiramisu-2.1' });
    expect(input.Priority).toBe(50);
    expect(input.Description).toContain('--force --model tiramisu-2.1');
  });

  it('uses a given CSV manifest by its ETag, and tells the function the prefix', async () => {
    const { store, jobs, deps, options } = await setup();
    const { etag } = await store.put('manifests-bucket', 'lists/2026.csv', 'b,k\n', { contentType: 'text/csv' });
    await startBatchReprocess(deps, options({ manifest: 's3://manifests-bucket/lists/2026.csv' }));
    const input = jobs.created[0]!;
    expect(input.Manifest).toEqual({
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: { ObjectArn: 'arn:aws:s3:::manifests-bucket/lists/2026.csv', ETag: etag },
    });
    expect(input.Operation?.LambdaInvoke?.UserArguments).toEqual({ force: 'false', prefix: 'incoming/' });
    expect(store.objects.has(`${BUCKET}/manifests/rp-20260506T070809Z-abcdef.csv`)).toBe(false);
  });

  it('uses an S3 Inventory manifest.json (no Fields: the inventory says what it holds)', async () => {
    const { store, jobs, deps, options } = await setup();
    const key = `${BUCKET}/all/2026-05-06T01-00Z/manifest.json`;
    const { etag } = await store.put('inventory', key, '{}', { contentType: 'application/json' });
    await startBatchReprocess(deps, options({ manifest: `s3://inventory/${key}` }));
    expect(jobs.created[0]!.Manifest).toEqual({
      Spec: { Format: 'S3InventoryReport_CSV_20161130' },
      Location: { ObjectArn: `arn:aws:s3:::inventory/${key}`, ETag: etag },
    });
  });

  it('fails before creating anything when the manifest is missing, the prefix is empty, or an ARN is missing', async () => {
    const { jobs, deps, options } = await setup();
    await expect(startBatchReprocess(deps, options({ manifest: 's3://nope/x.csv' }))).rejects.toThrow(
      'Expected the manifest s3://nope/x.csv to exist but it was not found',
    );
    await expect(startBatchReprocess(deps, options({ prefix: 'archive/' }))).rejects.toThrow(
      `Expected objects to re-process under s3://${BUCKET}/archive/ but found none`,
    );
    await expect(startBatchReprocess(deps, options({ roleArn: '' }))).rejects.toThrow(/--role-arn, GREENSCREEN_BATCH_ROLE_ARN or the stack output BatchOperationsRoleArn/);
    await expect(startBatchReprocess(deps, options({ functionArn: '' }))).rejects.toThrow(/--function-arn, GREENSCREEN_INGEST_FUNCTION_ARN or the stack output IngestFunctionArn/);
    expect(jobs.created).toEqual([]);
  });

  it('--dry-run builds the input but uploads and creates nothing', async () => {
    const { store, jobs, deps, options } = await setup();
    const res = await startBatchReprocess(deps, options({ dryRun: true }));
    expect(res.jobId).toBeUndefined();
    expect(res.input.Operation?.LambdaInvoke?.InvocationSchemaVersion).toBe('2.0');
    expect(jobs.created).toEqual([]);
    expect([...store.objects.keys()].some((k) => k.includes('manifests/'))).toBe(false);
  });

  it('--status describes the job with the caller\'s account id', async () => {
    const jobs = new FakeBatchJobs();
    const d = await batchReprocessStatus(jobs, 'job-0001');
    expect(jobs.described).toEqual([['123456789012', 'job-0001']]);
    expect(d).toMatchObject({ status: 'Active', percent: 50 });
  });
});

import { CreateJobCommand, DescribeJobCommand, type S3ControlClient } from '@aws-sdk/client-s3-control';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { describeJobDescriptor, S3ControlBatchJobs } from '#reprocess/adapters/s3-control-batch-jobs';

/** A client whose `send` answers from a script and records the commands (no network). */
function scripted<C>(answer: (command: unknown) => unknown): { client: C; sent: unknown[] } {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      return answer(command);
    },
  } as unknown as C;
  return { client, sent };
}

describe('S3ControlBatchJobs', () => {
  it('gets the account id from STS GetCallerIdentity', async () => {
    const sts = scripted<STSClient>(() => ({ Account: '123456789012' }));
    const jobs = new S3ControlBatchJobs(scripted<S3ControlClient>(() => ({})).client, sts.client);
    expect(await jobs.accountId()).toBe('123456789012');
    expect(sts.sent[0]).toBeInstanceOf(GetCallerIdentityCommand);
  });

  it('sends CreateJob with the input as given and returns the job id', async () => {
    const s3control = scripted<S3ControlClient>(() => ({ JobId: 'job-1' }));
    const jobs = new S3ControlBatchJobs(s3control.client, scripted<STSClient>(() => ({})).client);
    const input = { AccountId: '1', Operation: {}, Report: { Enabled: false }, ClientRequestToken: 't', Priority: 1, RoleArn: 'r' };
    expect(await jobs.createJob(input)).toBe('job-1');
    expect(s3control.sent[0]).toBeInstanceOf(CreateJobCommand);
    expect((s3control.sent[0] as CreateJobCommand).input).toBe(input);
  });

  it('wraps AWS errors with what failed (retryable unless a 4xx)', async () => {
    const s3control = scripted<S3ControlClient>(() => {
      throw Object.assign(new Error('not authorized to perform: s3:CreateJob'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    });
    const jobs = new S3ControlBatchJobs(s3control.client, scripted<STSClient>(() => ({})).client);
    await expect(jobs.createJob({} as never)).rejects.toMatchObject({
      code: 'STORAGE_ERROR',
      retryable: false,
      message: 'S3 Control CreateJob failed: AccessDenied: not authorized to perform: s3:CreateJob',
    });
  });

  it('describes a job: status, tasks, percent, report location', async () => {
    const s3control = scripted<S3ControlClient>(() => ({
      Job: {
        JobId: 'job-1',
        Status: 'Active',
        Description: 'greenscreen reprocess s3://b/incoming/',
        ProgressSummary: { TotalNumberOfTasks: 200, NumberOfTasksSucceeded: 150, NumberOfTasksFailed: 10, Timers: { ElapsedTimeInActiveSeconds: 42 } },
        Report: { Bucket: 'arn:aws:s3:::b', Prefix: 'reports', Enabled: true, Format: 'Report_CSV_20180820' },
        FailureReasons: [{ FailureCode: 'X', FailureReason: 'y' }],
      },
    }));
    const jobs = new S3ControlBatchJobs(s3control.client, scripted<STSClient>(() => ({})).client);
    expect(await jobs.describeJob('123', 'job-1')).toEqual({
      jobId: 'job-1',
      status: 'Active',
      description: 'greenscreen reprocess s3://b/incoming/',
      total: 200,
      succeeded: 150,
      failed: 10,
      percent: 80,
      elapsedSeconds: 42,
      failureReasons: ['X: y'],
      report: 's3://b/reports/job-job-1/',
    });
    expect((s3control.sent[0] as DescribeJobCommand).input).toEqual({ AccountId: '123', JobId: 'job-1' });
  });

  it('a job that has not counted its tasks yet is at 0%', () => {
    expect(describeJobDescriptor({ JobId: 'j', Status: 'Preparing' })).toMatchObject({ total: 0, percent: 0, status: 'Preparing' });
  });
});

/** BatchJobs over the real S3 Control and STS clients (created by the CLI, never at module load). */
import {
  CreateJobCommand,
  DescribeJobCommand,
  type CreateJobCommandInput,
  type JobDescriptor,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ConfigError, StorageError } from '#core/errors';
import type { BatchJobDescription, BatchJobs } from '../batch-job.ts';

function awsError(action: string, err: unknown): StorageError {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const retryable = status === undefined || status >= 500 || status === 429;
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new StorageError(`${action} failed: ${reason}`, { cause: err, retryable });
}

/** DescribeJob's answer, as the CLI shows it. */
export function describeJobDescriptor(job: JobDescriptor): BatchJobDescription {
  const p = job.ProgressSummary ?? {};
  const total = p.TotalNumberOfTasks ?? 0;
  const succeeded = p.NumberOfTasksSucceeded ?? 0;
  const failed = p.NumberOfTasksFailed ?? 0;
  const report = job.Report?.Enabled && job.Report.Bucket
    ? `s3://${job.Report.Bucket.replace(/^arn:aws[a-z-]*:s3:::/, '')}/${job.Report.Prefix ? `${job.Report.Prefix}/` : ''}job-${job.JobId}/`
    : undefined;
  return {
    jobId: job.JobId ?? '',
    status: job.Status ?? 'Unknown',
    ...(job.Description ? { description: job.Description } : {}),
    total,
    succeeded,
    failed,
    percent: total > 0 ? (100 * (succeeded + failed)) / total : 0,
    ...(p.Timers?.ElapsedTimeInActiveSeconds !== undefined ? { elapsedSeconds: p.Timers.ElapsedTimeInActiveSeconds } : {}),
    failureReasons: (job.FailureReasons ?? []).map((f) => `${f.FailureCode ?? ''}: ${f.FailureReason ?? ''}`.trim()),
    ...(report ? { report } : {}),
  };
}

export class S3ControlBatchJobs implements BatchJobs {
  constructor(
    private readonly s3control: S3ControlClient,
    private readonly sts: STSClient,
  ) {}

  async accountId(): Promise<string> {
    let account: string | undefined;
    try {
      account = (await this.sts.send(new GetCallerIdentityCommand({}))).Account;
    } catch (err) {
      throw awsError('STS GetCallerIdentity', err);
    }
    if (!account) throw new ConfigError('Expected STS GetCallerIdentity to return an account id but it returned none');
    return account;
  }

  async createJob(input: CreateJobCommandInput): Promise<string> {
    try {
      const res = await this.s3control.send(new CreateJobCommand(input));
      if (!res.JobId) throw new Error('no JobId in the response');
      return res.JobId;
    } catch (err) {
      throw awsError('S3 Control CreateJob', err);
    }
  }

  async describeJob(accountId: string, jobId: string): Promise<BatchJobDescription> {
    try {
      const res = await this.s3control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
      if (!res.Job) throw new Error('no Job in the response');
      return describeJobDescriptor(res.Job);
    } catch (err) {
      throw awsError(`S3 Control DescribeJob ${jobId}`, err);
    }
  }
}

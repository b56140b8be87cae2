/** A stack's outputs (DescribeStacks), for settings the CLI was not given by flag or environment. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ConfigError } from '#core/errors';

/** The outputs `greenscreen reprocess --aws` reads (infra/lib/pipeline-stack.ts names them). */
export const STACK_OUTPUTS = {
  bucket: 'BucketName',
  functionArn: 'IngestFunctionArn',
  roleArn: 'BatchOperationsRoleArn',
} as const;

export async function stackOutputs(cfn: Pick<CloudFormationClient, 'send'>, stackName: string): Promise<Record<string, string>> {
  let outputs: { OutputKey?: string; OutputValue?: string }[] | undefined;
  try {
    outputs = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs;
  } catch (err) {
    throw new ConfigError(
      `Expected to read the outputs of the CloudFormation stack ${stackName} (or pass --bucket, --role-arn and --function-arn): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return Object.fromEntries((outputs ?? []).filter((o) => o.OutputKey && o.OutputValue).map((o) => [o.OutputKey!, o.OutputValue!]));
}

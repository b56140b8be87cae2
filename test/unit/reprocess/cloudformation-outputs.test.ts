import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { stackOutputs } from '#reprocess/adapters/cloudformation-outputs';

describe('stackOutputs', () => {
  it('maps the stack outputs by key (DescribeStacks, no network)', async () => {
    const sent: unknown[] = [];
    const cfn = {
      send: async (command: unknown) => {
        sent.push(command);
        return {
          Stacks: [
            {
              Outputs: [
                { OutputKey: 'BucketName', OutputValue: 'greenscreen-storageuploads-1a2b' },
                { OutputKey: 'IngestFunctionArn', OutputValue: 'arn:aws:lambda:eu-west-1:1:function:ingest' },
                { OutputKey: 'Empty' },
              ],
            },
          ],
        };
      },
    } as unknown as CloudFormationClient;
    expect(await stackOutputs(cfn, 'Greenscreen')).toEqual({
      BucketName: 'greenscreen-storageuploads-1a2b',
      IngestFunctionArn: 'arn:aws:lambda:eu-west-1:1:function:ingest',
    });
    expect((sent[0] as DescribeStacksCommand).input).toEqual({ StackName: 'Greenscreen' });
  });

  it('says which flags to pass when the stack cannot be read', async () => {
    const cfn = {
      send: async () => {
        throw new Error('Stack with id Greenscreen does not exist');
      },
    } as unknown as CloudFormationClient;
    await expect(stackOutputs(cfn, 'Greenscreen')).rejects.toThrow(
      'Expected to read the outputs of the CloudFormation stack Greenscreen (or pass --bucket, --role-arn and --function-arn): Stack with id Greenscreen does not exist',
    );
  });
});

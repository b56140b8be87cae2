import { beforeAll, describe, expect, it } from 'vitest';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS, type Synthesised, synthesiseAll } from './stack-fixture.ts';

/** Every variant the deploy guide offers, checked the way `cdk synth` checks them. */
const VARIANTS: Record<string, string>[] = [
  {},
  { spot: 'true', ecsAmi: 'al2', natGateways: '1', alarmEmail: 'ops@example.com', instanceType: 'g6.xlarge' },
  { gpu: 'false' },
  { gpu: 'false', spot: 'true', natGateways: '1' },
];

describe('cdk-nag AwsSolutionsChecks', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let results: Synthesised[];
  beforeAll(async () => {
    results = await synthesiseAll(VARIANTS.map((arg) => ({ scenario: 'app' as const, arg, nag: true })));
  }, FIRST_SYNTH_TIMEOUT_MS);

  it.each(VARIANTS.map((v, i) => [JSON.stringify(v), i] as const))('context %s: no unacknowledged errors or warnings, no CDK warnings', (_name, i) => {
    expect(results[i]!.raw.violations).toEqual([]);
    expect(results[i]!.raw.warnings).toEqual([]);
  });

  /** Ours: cdk-nag findings (aws-cdk-lib records its own CloudFormation-Validate acknowledgements too). */
  const ourAcknowledgements = () =>
    results
      .flatMap((r) => r.raw.acknowledgements)
      .map((a) => ({ ...a, id: a.id.replace(/^[\w-]+::/, '') }))
      .filter((a) => a.id.startsWith('AwsSolutions-'));

  it('every acknowledgement says why, in a sentence', () => {
    const acks = ourAcknowledgements();

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('acknowledges exactly the reviewed set of findings', () => {
    const ids = new Set(ourAcknowledgements().map((a) => a.id.replace(/<[A-Za-z0-9]+\.Arn>/, '<bucket>')));

    expect([...ids].sort()).toEqual(
      [
        'AwsSolutions-AS3',
        'AwsSolutions-EC26',
        'AwsSolutions-ECS2',
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AwsSolutions-IAM5[Action::ecs:Submit*]',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<bucket>/backgrounds/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/incoming/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/manifests/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/reports/*]',
        'AwsSolutions-IAM5[Resource::<bucket>/results/*]',
        'AwsSolutions-S1',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
      ].sort(),
    );
  });
});

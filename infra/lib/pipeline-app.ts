import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PipelineStack } from './pipeline-stack.ts';
import { readSettings } from './settings.ts';

export const STACK_NAME = 'Greenscreen';

export interface AddPipelineOptions {
  /** Run cdk-nag's AWS Solutions pack at synth (default true; unit tests run it explicitly). */
  nag?: boolean;
}

/**
 * Everything infra/bin/app.ts does, callable from tests: read the context, add the stack, and
 * register cdk-nag. cdk-nag 3 is a CDK policy-validation plugin (`Validations.addPlugins`), not an
 * Aspect: any unacknowledged finding fails `cdk synth` with a report.
 */
export function addPipeline(app: App, options: AddPipelineOptions = {}): PipelineStack {
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stack = new PipelineStack(app, STACK_NAME, {
    settings,
    description: `Greenscreen background removal: S3 -> SQS -> ${settings.gpu ? 'GPU' : 'CPU'} ECS worker -> webhooks`,
  });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  }
  return stack;
}

import { resolve } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REPO_ROOT } from '../model-card.ts';

/**
 * The newest Node.js runtime this aws-cdk-lib knows (also what cdk-nag AwsSolutions-L1 asks for).
 * The code targets Node >= 20, so nothing in it depends on 24-only features.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * ESM bundles still meet CommonJS dependencies that call `require` (some SDK internals, ws-like
 * libraries); esbuild's shim needs a real `require` in scope.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export interface PipelineFunctionProps {
  /** Entry file relative to the repository root, e.g. functions/ingest/handler.ts. */
  entry: string;
  /** Powertools service name (logs' `service` key). */
  serviceName: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  environment: Record<string, string>;
  logRetentionDays: number;
  /** Reserved concurrency: a ceiling for this function and a floor the rest of the account cannot take. */
  reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function the house way: Node.js on arm64 (Graviton: cheaper per GB-second), bundled by
 * the locally installed esbuild (synth never needs Docker), ESM with source maps, its own log
 * group with a retention, and its own role that may write only to that log group (no
 * AWSLambdaBasicExecutionRole, which grants logs:CreateLogGroup/PutLogEvents on every group).
 */
export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName} function: writes its own log group; other grants are added by the owner`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: resolve(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: resolve(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too: the version we tested, not whatever the runtime ships this month.
        externalModules: [],
        forceDockerBundling: false,
      },
    });
  }
}

#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this with tsx).
 * Context flags are documented in docs/deploy.md and parsed in infra/lib/settings.ts.
 */
import { App } from 'aws-cdk-lib';
import { addPipeline } from '../lib/pipeline-app.ts';

addPipeline(new App());

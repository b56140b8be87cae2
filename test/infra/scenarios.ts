/**
 * What the infra tests synthesise, by name. Run in a child process by synth-child.ts (see
 * stack-fixture.ts for why), so everything here is plain data in, a Stack out.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { BacklogScaling, COLD_START } from '../../infra/lib/constructs/backlog-scaling.ts';
import { Ingest } from '../../infra/lib/constructs/ingest.ts';
import { Network } from '../../infra/lib/constructs/network.ts';
import { Notify } from '../../infra/lib/constructs/notify.ts';
import { SegmentWorker } from '../../infra/lib/constructs/segment-worker.ts';
import { Storage, type StorageProps } from '../../infra/lib/constructs/storage.ts';
import { WorkQueue } from '../../infra/lib/constructs/work-queue.ts';
import { REPO_ROOT } from '../../infra/lib/model-card.ts';
import { addPipeline } from '../../infra/lib/pipeline-app.ts';
import { PipelineStack } from '../../infra/lib/pipeline-stack.ts';
import { DEFAULT_SETTINGS, type PipelineSettings, readSettings } from '../../infra/lib/settings.ts';

export const CDK_JSON = JSON.parse(readFileSync(resolve(REPO_ROOT, 'cdk.json'), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

/** Lambda bundling and asset staging are skipped: synth.test.ts runs the real `cdk synth`. */
const FAST_CONTEXT = { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true };

function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_JSON.context, ...FAST_CONTEXT, ...context } });
}

/** An empty stack with the app's feature flags, to test one construct in. */
function testStack(): Stack {
  return new Stack(newApp(), 'Test');
}

function queues(stack: Stack) {
  return {
    jobs: new WorkQueue(stack, 'Jobs', { defaults: RESOURCE_DEFAULTS.jobsQueue, highThroughputFifo: true }),
    events: new WorkQueue(stack, 'Events', { defaults: RESOURCE_DEFAULTS.eventsQueue }),
  };
}

export type WorkerOverrides = Partial<PipelineSettings>;

export const scenarios = {
  /** The whole app as infra/bin/app.ts builds it; `context` as `-c key=value` gives it. */
  app(context: Record<string, string> = {}): Stack {
    return addPipeline(newApp(context), { nag: false });
  },

  /** The whole stack without a model card: the version comes from context. */
  appWithoutModelCard(modelVersion: string): Stack {
    return new PipelineStack(newApp(), 'NoCard', {
      settings: readSettings((k) => ({ modelVersion })[k]),
      modelCardPath: resolve(REPO_ROOT, 'models/does-not-exist.card.json'),
    });
  },

  storage(props: Partial<StorageProps> = {}): Stack {
    const stack = testStack();
    new Storage(stack, 'Storage', { ...DEFAULT_SETTINGS, ...props });
    return stack;
  },

  queues(): Stack {
    const stack = testStack();
    queues(stack);
    return stack;
  },

  functions(): Stack {
    const stack = testStack();
    const storage = new Storage(stack, 'Storage', DEFAULT_SETTINGS);
    const { jobs, events } = queues(stack);
    new Ingest(stack, 'Ingest', { bucket: storage.bucket, jobsQueue: jobs.queue, modelVersion: 'v-test', logRetentionDays: 30 });
    new Notify(stack, 'Notify', { bucket: storage.bucket, eventsQueue: events.queue, presignSeconds: 900, logRetentionDays: 90 });
    return stack;
  },

  worker(overrides: WorkerOverrides = {}): Stack {
    const stack = testStack();
    const settings = { ...DEFAULT_SETTINGS, ...overrides };
    const network = new Network(stack, 'Network', { natGateways: settings.natGateways, logRetentionDays: 30 });
    const storage = new Storage(stack, 'Storage', DEFAULT_SETTINGS);
    const { jobs, events } = queues(stack);
    const worker = new SegmentWorker(stack, 'Segment', {
      ...settings,
      vpc: network.vpc,
      subnets: network.workerSubnets,
      publicSubnets: network.publicWorkers,
      bucket: storage.bucket,
      jobsQueue: jobs.queue,
      eventsQueue: events.queue,
    });
    new BacklogScaling(stack, 'Scaling', {
      cluster: worker.cluster,
      service: worker.service,
      queue: jobs.queue,
      maxTasks: settings.maxTasks,
      targetBacklogPerTask: settings.targetBacklogPerTask,
      coldStart: settings.gpu ? COLD_START.gpu : COLD_START.cpu,
    });
    return stack;
  },
} satisfies Record<string, (arg: never) => Stack>;

export type ScenarioName = keyof typeof scenarios;
export type ScenarioArg<N extends ScenarioName> = Parameters<(typeof scenarios)[N]>[0];

/** The emulator stops (its state lost) for 5 s and starts again: how hard the pipeline knocks meanwhile, and that it recovers. */
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import type { SegmentJob } from '#core/types';
import { startEmulator } from '#local/emulator';
import { provisionResources } from '#local/provision';
import { startLocalStack } from '#local/stack';
import { FaultInjector, FaultyMessageQueue, FaultyObjectStore } from '#harness/faults';
import { uploadAll } from '#harness/pipeline';
import { photos, row, settle, type FaultBench, type ScenarioRow } from './scenario.ts';

export type RestartRow = ScenarioRow & { outage: { workerReceives: number; notifyReceives: number; listings: number; seconds: number } };

export async function emulatorRestarted(bench: FaultBench): Promise<RestartRow> {
  const started = performance.now();
  const OUTAGE_MS = 5000;
  let emulator = await startEmulator();
  const connection = { region: 'us-east-1', endpoint: emulator.endpoint };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  const resources = await provisionResources(s3, sqs, { visibilitySeconds: 5 });
  const jobsCalls = new FaultInjector({ methods: [] });
  const storeCalls = new FaultInjector({ methods: [] });
  const stack = await startLocalStack({
    ...bench.stackDefaults,
    endpoint: emulator.endpoint,
    visibilitySeconds: 5,
    overrides: {
      jobs: new FaultyMessageQueue(new SqsMessageQueue<SegmentJob>(sqs, resources.jobsQueueUrl), jobsCalls, 'jobs'),
      store: new FaultyObjectStore(new S3ObjectStore(s3), storeCalls),
    },
  });
  let notifyReceives = 0;
  stack.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ReceiveMessageCommand') notifyReceives++;
      return next(args);
    },
    { step: 'initialize', name: 'countReceives' },
  );
  try {
    const before = await photos('restart-before', 3, 40);
    await uploadAll(stack.store, stack.resources.bucket, before);
    await settle(bench, stack, before.map((u) => u.key), 120_000);
    const counts = [jobsCalls.callsOf('receive'), notifyReceives, storeCalls.callsOf('list')] as const;
    await emulator.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const outage = {
      workerReceives: jobsCalls.callsOf('receive') - counts[0],
      notifyReceives: notifyReceives - counts[1],
      listings: storeCalls.callsOf('list') - counts[2],
      seconds: OUTAGE_MS / 1000,
    };
    emulator = await startEmulator({ port: emulator.port });
    await provisionResources(stack.s3, stack.sqs, { visibilitySeconds: 5 });
    const after = await photos('restart-after', 3, 43);
    const keys = after.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, after);
    const audit = await settle(bench, stack, keys, 120_000);
    const tight = outage.workerReceives > 10 || outage.notifyReceives > 12 || outage.listings > 12;
    return {
      ...row(
        'emulator restart (state lost)',
        `${outage.seconds} s outage; attempts meanwhile: worker ${outage.workerReceives} receives, notify ${outage.notifyReceives}, S3 listing ${outage.listings}`,
        keys,
        audit,
        started,
        !tight,
      ),
      outage,
    };
  } finally {
    await stack.stop();
    s3.destroy();
    sqs.destroy();
    await emulator.stop();
  }
}

/** ECS entry point: `node --import tsx functions/segment/main.ts`. SIGTERM drains and exits 0. */
import { ENV, parseConfig, workerConfigSchema } from '#core/config';
import { createLogger } from '#core/logger';
import { EmfMetrics } from './metrics.ts';
import { buildWorker } from './build-worker.ts';

const logger = createLogger('segment');
const config = parseConfig(workerConfigSchema);
const { worker, session } = await buildWorker(
  {
    connection: { region: config[ENV.region], endpoint: config[ENV.endpoint] },
    bucket: config[ENV.bucket],
    jobsQueueUrl: config[ENV.jobsQueueUrl],
    eventsQueueUrl: config[ENV.eventsQueueUrl],
    maxBytes: config[ENV.maxUploadBytes],
    maxPixels: config[ENV.maxInputPixels],
    batchSize: config[ENV.batchSize],
    visibilitySeconds: config[ENV.visibilitySeconds],
    threads: config[ENV.threads],
    codecNice: config[ENV.codecNice],
    provider: config[ENV.executionProvider],
    ...(config[ENV.modelCard] ? { modelCard: config[ENV.modelCard] } : {}),
    ...(config[ENV.heartbeatFile] ? { heartbeatFile: config[ENV.heartbeatFile] } : {}),
  },
  logger,
  { metrics: new EmfMetrics() },
);

// A dead inference thread fails every job: stop taking work (in-flight jobs go back to the queue)
// and exit non-zero so ECS starts a fresh task, instead of burning every job's receives.
let exitCode = 0;
session.onFailure?.((err) => {
  logger.error('inference thread died; draining and exiting for a fresh task', { stage: 'shutdown', error: err.message });
  exitCode = 1;
  worker.stop();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info('draining: no new jobs, finishing in-flight work', { stage: 'shutdown', signal, inFlight: worker.busy });
    worker.stop();
  });
}

await worker.run();
await session.release();
logger.info('worker stopped', { stage: 'shutdown', ...worker.stats });
process.exit(exitCode);

/** `greenscreen dev`: the local stack, long-running, its state kept across restarts, with the page. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { exposureWarning } from '#local/listen';
import { watchForStop } from '#local/lifetime';
import { intFlag, stringFlag, type CommandSpec, type Parsed } from '../args.ts';
import { DEFAULT_DATA_DIR, modelFlags, modelOptions, noPositionals, outDirFlag, SUBSCRIPTIONS_NOTE, webhookFlags, type Command } from '../command-flags.ts';
import { signalExit } from '../exit-codes.ts';
import { localSubscriptions } from '../subscriptions.ts';

export const command: Command = {
  spec: {
    name: 'dev',
    summary:
      'The same stack, long-running, with its state kept in a data directory: uploads, results, queued\n' +
      'jobs and webhooks survive a stop (Ctrl-C, SIGTERM, kill -9) and a restart. Upload with\n' +
      '`greenscreen upload` or `aws s3 cp --endpoint-url`.',
    flags: {
      port: { type: 'string', value: 'N', default: '4566', help: 'the S3+SQS port' },
      'web-port': { type: 'string', value: 'N', default: '4567', help: "the page's port (always on 127.0.0.1)" },
      host: { type: 'string', value: 'ADDR', default: '127.0.0.1', help: 'listen address; anything but loopback exposes every photo (warned)' },
      'data-dir': { type: 'string', value: 'DIR', default: DEFAULT_DATA_DIR, help: 'where the state is kept' },
      fresh: { type: 'boolean', help: 'delete the kept state and start empty' },
      ...modelFlags,
      ...webhookFlags,
    },
    notes: SUBSCRIPTIONS_NOTE,
    exit: '  dev: 0 after a clean stop (Ctrl-C, SIGTERM, SIGHUP, or the end of the process that started it: npx, a shell);\n' +
      '  130 when a second signal forced it; 1 when it cannot start (port taken, data dir in use).',
  },
  run: devCommand,
};

async function devCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  noPositionals(spec, positionals);
  const port = intFlag(spec, v.port, 'port', { min: 0, max: 65535 }) ?? 4566;
  const webPort = intFlag(spec, v['web-port'], 'web-port', { min: 0, max: 65535 }) ?? 4567;
  const host = stringFlag(v.host);
  const dataDir = stringFlag(v['data-dir']) ?? DEFAULT_DATA_DIR;
  const model = modelOptions(spec, v);
  const subs = await localSubscriptions(spec, v);
  const warning = host ? exposureWarning(host, 'the S3+SQS endpoint and the webhook receiver') : undefined;
  if (warning) process.stderr.write(`${warning}\n`);

  await outDirFlag(spec, dataDir, '--data-dir');
  const { DATA_DIR_LOCK_FILES, lockDataDir } = await import('#local/data-dir-lock');
  const unlock = await lockDataDir(dataDir);
  try {
    if (v.fresh) {
      for (const entry of await readdir(dataDir)) if (!(DATA_DIR_LOCK_FILES as readonly string[]).includes(entry)) await rm(join(dataDir, entry), { recursive: true, force: true });
    }
    const { startLocalStack } = await import('#local/stack');
    const { SourceReads, startStackWebServer } = await import('#local/web-server');
    const { INPUT_PREFIX } = await import('#core/resources');
    const startedAt = performance.now();
    const reads = new SourceReads();
    const stack = await startLocalStack({
      wrapStore: (store) => reads.wrap(store),
      holdWorker: true,
      port,
      ...(host ? { host } : {}),
      dataDir,
      ...model,
      subscriptions: subs.subscriptions,
      logger: (await import('#core/logger')).createLogger('local'),
    });
    const web = await startStackWebServer(stack, { reads, port: webPort }).catch(async (err: unknown) => {
      await stack.stop();
      throw err;
    });
    stack.startTaking();
    // Before the banner: a supervisor (or a test) may send SIGTERM the moment it reads "Ctrl-C to
    // stop.", and a signal with no handler yet kills the process uncleanly (exit 143).
    const stop = watchForStop({
      onForce: (reason) => {
        process.stderr.write('stopping now: jobs in flight go back to the queue at the next start\n');
        process.exit(signalExit(reason));
      },
    });
    const r = stack.reconciled;
    process.stdout.write(
      `greenscreen dev: S3+SQS at ${stack.endpoint}, bucket ${stack.resources.bucket} (ready in ${Math.round(performance.now() - startedAt)} ms)\n` +
        `  data:     ${dataDir} (kept across restarts; --fresh to start empty)\n` +
        `  page:     ${web.url}   (photos cut out in the browser; the pipeline's jobs and webhooks)\n` +
        (r ? `  found:    ${r.inputs} upload(s): ${r.upToDate} with results, ${r.queued} queued (${r.released ?? 0} released from the stopped run), ${r.resubmitted} resubmitted\n` : '') +
        `  upload:   npx greenscreen upload photo.jpg   (or: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws s3 cp photo.jpg s3://${stack.resources.bucket}/${INPUT_PREFIX} --endpoint-url ${stack.endpoint})\n` +
        `  status:   npx greenscreen status\n` +
        `  webhooks: built-in receiver ${stack.receiver.url} (secret ${stack.webhookSecret}); its deliveries: npx greenscreen webhooks (${join(dataDir, 'webhooks.jsonl')})\n` +
        subs.banner.map((l) => `  ${l}\n`).join('') +
        `Ctrl-C to stop.\n`,
    );
    const reason = await stop.stopped;
    process.stderr.write(`stopping (${reason}): finishing in-flight jobs…\n`);
    await web.close();
    await stack.stop();
    stop.dispose();
    return 0;
  } finally {
    await unlock();
  }
}

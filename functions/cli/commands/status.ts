/** `greenscreen status`: every upload in the dev stack and its job's state. */
import { stringFlag, urlFlag, type CommandSpec, type Parsed } from '../args.ts';
import { DEFAULT_ENDPOINT } from '#core/resources';
import { noPositionals, stackFlags, type Command } from '../command-flags.ts';
import { EXIT } from '../exit-codes.ts';

export const command: Command = {
  spec: {
    name: 'status',
    summary:
      'Every upload in the dev stack and where its job is: queued, running, succeeded, failed (with the reason).\n' +
      'Asks the running `greenscreen dev` (its page API); with --endpoint alone, S3 and SQS, which cannot\n' +
      'tell a queued job from a running one: both show as pending.',
    flags: {
      ...stackFlags,
      page: { type: 'string', value: 'URL', default: 'http://127.0.0.1:4567', help: "the dev process's page (its --web-port)" },
      json: { type: 'boolean', help: 'stdout: one JSON object, {jobs, queue, source}' },
    },
    exit: '  status: 0 when no job has failed (queued, running and pending ones included); 3 when some have (each listed with its reason).',
  },
  run: statusCommand,
};

async function statusCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  noPositionals(spec, positionals);
  const { devJobs, stackStatus } = await import('../stack-client.ts');
  const endpoint = urlFlag(spec, v.endpoint, 'endpoint') ?? DEFAULT_ENDPOINT;
  const page = urlFlag(spec, v.page, 'page');
  const fromDev = page !== undefined ? await devJobs(page, { required: true }) : v.endpoint === undefined ? await devJobs('http://127.0.0.1:4567', { required: false }) : undefined;
  const s = fromDev ?? (await stackStatus({ endpoint, bucket: stringFlag(v.bucket) ?? 'greenscreen-uploads' }));
  const failedJobs = s.jobs.filter((j) => j.status === 'failed').length;
  if (v.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return failedJobs ? EXIT.failed : EXIT.ok;
  }
  for (const j of s.jobs) process.stdout.write(`${j.status.padEnd(9)} ${j.key}${j.error ? `  ${j.error.code}: ${j.error.message}` : ''}\n`);
  const count = (st: string) => s.jobs.filter((j) => j.status === st).length;
  process.stdout.write(
    s.source === 'dev'
      ? `${s.jobs.length} upload(s): ${count('succeeded')} succeeded, ${count('failed')} failed, ${count('running')} running, ${count('queued')} queued\n`
      : `${s.jobs.length} upload(s): ${count('succeeded')} succeeded, ${count('failed')} failed, ${count('pending')} pending ` +
          `(jobs queue: ${s.queue.queued} queued, ${s.queue.inProgress} in progress)\n`,
  );
  return failedJobs ? EXIT.failed : EXIT.ok;
}

/** `greenscreen` — the command line. Each command is a thin wrapper over a module of its own. */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '#core/errors';
import { OPTION_NAMES, parseProfiles, resolveOutputSpec, type OptionStrings, type OutputProfile } from '#core/output-options';
import { ENV } from '#core/config';
import { BACKGROUNDS_PREFIX, DEFAULT_ENDPOINT, INPUT_PREFIX } from '#core/resources';
import { exposureWarning } from '#local/listen';
import { watchForStop } from '#local/lifetime';
import type { ExecutionProviderChoice } from '#segment/model-session';
import {
  choiceFlag,
  commandHelp,
  intFlag,
  parseCommand,
  positiveFlag,
  stringFlag,
  urlFlag,
  UsageError,
  type CommandSpec,
  type Parsed,
} from './args.ts';
import { describeError } from './errors.ts';
import { EXIT, EXIT_STATUS_HELP, photosExit, signalExit } from './exit-codes.ts';
import { ensureOutDir, keySegment, OutDirError } from './files.ts';
import { Progress } from './progress.ts';
import { localSubscriptions } from './subscriptions.ts';

const DEFAULT_DATA_DIR = '.greenscreen/dev';
const PROVIDERS = ['auto', 'cpu', 'cuda'] as const;

const modelFlags = {
  batch: { type: 'string', value: 'N', default: '4', help: 'photos per model run' },
  threads: { type: 'string', value: 'N', default: 'all cores but one', help: 'onnxruntime threads' },
  provider: { type: 'string', value: 'auto|cpu|cuda', default: 'auto', help: 'execution provider' },
} as const satisfies CommandSpec['flags'];

const webhookFlags = {
  webhook: { type: 'string', value: 'URL', help: 'also deliver every webhook here (http(s); loopback allowed in local mode)' },
  'webhook-secret': { type: 'string', value: 'whsec_…', default: 'a generated one, printed', help: "--webhook's signing secret" },
} as const satisfies CommandSpec['flags'];

const stackFlags = {
  endpoint: { type: 'string', value: 'URL', default: DEFAULT_ENDPOINT, help: 'the S3+SQS endpoint of `greenscreen dev`' },
  bucket: { type: 'string', value: 'B', default: 'greenscreen-uploads', help: 'the bucket' },
} as const satisfies CommandSpec['flags'];

/** Output options (#core/output-options): a profile for every upload of this run; object metadata still wins. */
const outputFlags = {
  format: { type: 'string', value: 'png|webp|avif|jpeg', default: 'png', help: "the cut-out's format (jpeg needs an opaque --background)" },
  quality: { type: 'string', value: '1-100|lossless', default: 'webp lossless, avif 60, jpeg 90', help: 'quality of lossy formats' },
  background: {
    type: 'string',
    value: "transparent|'#rrggbb'|blur[:sigma]|FILE",
    default: 'transparent',
    help: 'what is behind the subject; FILE: a local image, uploaded with the run (its bucket starts empty)',
  },
  crop: { type: 'string', value: 'none|N%|Npx', default: 'none', help: 'crop to the subject with this margin' },
  'max-size': { type: 'string', value: 'PX', default: 'none', help: "longest side of the outputs (downscale only)" },
  outputs: { type: 'string', value: 'both|mask|cutout', default: 'both', help: 'which files to make' },
} as const satisfies CommandSpec['flags'];

/** The output flags given, as the profile for every object under `prefix`, checked now (a bad one is a usage error). */
function outputProfile(spec: CommandSpec, v: Parsed['values'], prefix: string, background?: string): OutputProfile[] {
  const options: OptionStrings = {};
  for (const name of OPTION_NAMES) {
    const value = name === 'background' ? (background ?? stringFlag(v[name])) : stringFlag(v[name]);
    if (value !== undefined) options[name] = value;
  }
  if (!Object.keys(options).length) return [];
  const profile = { prefix, options };
  try {
    resolveOutputSpec({ key: prefix, profiles: [profile] });
  } catch (err) {
    throw new UsageError(spec, (err as Error).message.replace(/(\S+) \(from the profile for "[^"]*"\)/, '$1 (--$1)'));
  }
  return [profile];
}

/** Background values that name no file: the rest of --background is a local image file's path. */
const isBackgroundKeyword = (v: string) => v === 'transparent' || v.startsWith('#') || /^blur(:|$)/.test(v);

/**
 * `run --background FILE` (or image:FILE): a local image, checked now and uploaded with the run as
 * backgrounds/<name>, since a run's stack starts with an empty bucket. A bucket key alone
 * (image:backgrounds/beach.jpg with no such local file) could never be found there: refused, exit 2.
 */
async function runBackground(spec: CommandSpec, value: string | undefined): Promise<{ option?: string; objects: { key: string; body: Buffer }[] }> {
  if (value === undefined || isBackgroundKeyword(value)) return { ...(value !== undefined ? { option: value } : {}), objects: [] };
  const path = value.startsWith('image:') ? value.slice('image:'.length) : value;
  const found = path ? await stat(path).catch(() => undefined) : undefined;
  if (!found) {
    throw new UsageError(
      spec,
      value.startsWith('image:')
        ? `Expected --background image:<file> to name a local image file (greenscreen run starts with an empty bucket: no key can be in it) but ${JSON.stringify(path)} is not a file here; ` +
            `pass the image itself, e.g. --background ./beach.jpg`
        : `Expected option background (--background) to be transparent, a colour #rrggbb or #rgb, blur, blur:<sigma 1-100>, ` +
            `or a local image file (uploaded with the run) but received ${JSON.stringify(value)} (no such file)`,
      { showUsage: false },
    );
  }
  if (!found.isFile()) throw new UsageError(spec, `Expected --background ${value} to be an image file but it is a folder`, { showUsage: false });
  const body = await readFile(path);
  const { default: sharp } = await import('sharp');
  const meta = await sharp(body).metadata().catch(() => undefined);
  if (!meta?.width || !meta.height) {
    throw new UsageError(spec, `Expected --background ${value} to be an image file (jpg, png, webp, avif, tiff, gif) but it is not one`, { showUsage: false });
  }
  const key = `${BACKGROUNDS_PREFIX}${keySegment(path)}`;
  return { option: `image:${key}`, objects: [{ key, body }] };
}

/**
 * $GREENSCREEN_OUTPUT_PROFILES in `run` (used when no output flag is given): a profile whose
 * background is a bucket key cannot work in the run's empty bucket; refused, exit 2.
 */
function refuseBucketProfiles(spec: CommandSpec): void {
  let profiles: OutputProfile[];
  try {
    profiles = parseProfiles(process.env[ENV.outputProfiles]);
  } catch {
    return; // the stack reports a bad profile in its own words
  }
  for (const p of profiles) {
    const bg = p.options.background;
    if (typeof bg === 'string' && bg.startsWith('image:')) {
      throw new UsageError(
        spec,
        `Expected $${ENV.outputProfiles} to need nothing from the bucket in greenscreen run (it starts empty) but the profile for ${JSON.stringify(p.prefix)} ` +
          `has background ${JSON.stringify(bg)}; give the image with --background <file> instead`,
        { showUsage: false },
      );
    }
  }
}

/** --out / --data-dir: a folder that exists or can be created, and can be written: else one line, exit 2. */
async function outDirFlag(spec: CommandSpec, dir: string, flag: string): Promise<void> {
  try {
    await ensureOutDir(dir, flag);
  } catch (err) {
    if (err instanceof OutDirError) throw new UsageError(spec, err.message, { showUsage: false, cause: err });
    throw err;
  }
}

const SUBSCRIPTIONS_NOTE =
  'Webhooks: the built-in receiver always gets every event; --webhook and the subscriptions in\n' +
  '$GREENSCREEN_SUBSCRIPTIONS (a JSON array, as on AWS) get them too, through the same SSRF guard.';

export const COMMANDS = {
  run: {
    name: 'run',
    args: '<inputDir> --out <outDir>',
    summary:
      'Start the local stack, upload every image in <inputDir>, wait for every job and write\n' +
      '<outDir>/<stem>/{mask.png,cutout.<format>,result.json}, <outDir>/webhooks.jsonl and contact sheets\n' +
      '(<outDir>/contact-sheet.jpg; contact-sheet-01.jpg, -02.jpg, … past 70 photos: 5 photos a row, photo | mask | cut-out,\n' +
      'at most 4000 px a side). An --out that is a file, cannot be created or is not writable is refused before anything starts.',
    flags: {
      out: { type: 'string', value: 'DIR', help: 'where the outputs go (required)' },
      ...modelFlags,
      timeout: { type: 'string', value: 'S', default: '120 + 5 per photo', help: 'give up waiting after S seconds' },
      ...webhookFlags,
      ...outputFlags,
      'no-contact-sheet': { type: 'boolean', help: 'skip the contact sheet' },
      'web-port': { type: 'string', value: 'N', help: "serve the page on 127.0.0.1:N while the run lasts, to watch its jobs and webhooks (0 = any free port)" },
      quiet: { type: 'boolean', help: 'no progress line' },
      json: { type: 'boolean', help: 'stdout: the summary as one JSON line, nothing else (messages go to stderr)' },
    },
    notes: SUBSCRIPTIONS_NOTE,
    exit: '  run: 0 only when every photo succeeded; 3 when some failed (the summary gives how many and the first reasons);\n' +
      '  4 when some jobs were lost or unfinished at --timeout; 130/143 when Ctrl-C/SIGTERM stopped it.',
  },
  dev: {
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
  upload: {
    name: 'upload',
    args: '<file|dir>...',
    summary: "Upload photos (folders: every image in them) to the dev stack's incoming/ prefix.",
    flags: { ...stackFlags, quiet: { type: 'boolean', help: 'no progress line' } },
    exit: '  upload: 0 when every file was uploaded (processing is not waited for: see status); 1 when the stack is not there.',
  },
  status: {
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
  webhooks: {
    name: 'webhooks',
    summary: "The deliveries the dev stack's built-in receiver accepted (signature verified), oldest first.",
    flags: {
      'data-dir': { type: 'string', value: 'DIR', default: DEFAULT_DATA_DIR, help: 'the data directory of `greenscreen dev`' },
      json: { type: 'boolean', help: 'stdout: JSON lines, one per delivery, as received' },
    },
    exit: '  webhooks: 0 when the deliveries were listed; 1 when there is no record of them.',
  },
  eval: {
    name: 'eval',
    args: '<setDir>[:split] ...',
    summary:
      'Quality and speed of the shipped model, set by set, through the serving code: one row per set (dataset IoU, mean IoU, ' +
      'boundary F, MAE, ms/image), the all-sets mean and minimum, a sheet of each set\'s 12 worst photos; ignore/<id>.png ' +
      'regions are left out of every score. e.g. greenscreen eval ../shared/data/pfcn:val ../shared/data/ccp:test --json',
    flags: {
      split: { type: 'string', value: 'NAME', default: 'every photo', help: 'the split of sets given without :split, e.g. test' },
      limit: { type: 'string', value: 'N', help: 'the first N photos of each set' },
      threads: { type: 'string', value: 'N', default: '2', help: 'onnxruntime threads' },
      provider: modelFlags.provider,
      out: { type: 'string', value: 'DIR', default: '.greenscreen/eval', help: 'where the worst-12 contact sheets go (<set>-<split>-worst.jpg)' },
      quiet: { type: 'boolean', help: 'no progress line' },
      json: {
        type: 'boolean',
        help: 'stdout: one JSON line, {"sets": {"pfcn/val": {datasetIoU, meanIoU, boundaryF, mae, n, msPerImage}, ...}, "summary", "msPerImage", ...}; the table goes to stderr',
      },
    },
    exit: '  eval: 0 when every set was scored; 1 when a set cannot be read.',
  },
} satisfies Record<string, CommandSpec>;

const USAGE = `greenscreen — remove the background from photos of people

Usage: greenscreen <command> [options]     (greenscreen <command> --help for its options)

Commands:
  run <inputDir> --out <outDir>   the whole pipeline, locally, once
  dev                             the same stack, long-running, state kept in .greenscreen/dev
  upload <file|dir>...            upload to the dev stack
  status                          every upload in the dev stack and its job's state
  webhooks                        the deliveries the dev stack's receiver accepted
  eval <setDir>[:split] ...       model quality and speed, set by set, through the serving code
  reprocess --prefix <p>          re-run photos after a model upgrade

${EXIT_STATUS_HELP}
`;

/** Runs a command; errors print as one clear line (set GREENSCREEN_DEBUG=1 for the stack and cause). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      const name = err.command ? ` ${err.command.name}` : '';
      if (!err.showUsage) process.stderr.write(`greenscreen${name}: ${err.message}\n`);
      else process.stderr.write(`greenscreen${name}: ${err.message}\n\n${err.command ? commandHelp(err.command) : USAGE}`);
      return EXIT.usage;
    }
    process.stderr.write(`greenscreen: ${describeError(err)}\n`);
    if (process.env.GREENSCREEN_DEBUG) console.error(err);
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic && topic in COMMANDS) return dispatch([topic, '--help']);
    if (topic === 'reprocess') return dispatch(['reprocess', '--help']);
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'reprocess') {
    const { reprocessCommand } = await import('./reprocess.ts');
    return reprocessCommand(rest);
  }
  if (!(command in COMMANDS)) throw new UsageError(undefined, `Expected a command (run, dev, upload, status, webhooks, eval, reprocess) but received ${JSON.stringify(command)}`);
  const spec: CommandSpec = COMMANDS[command as keyof typeof COMMANDS];
  const parsed = parseCommand(spec, rest);
  if (parsed.values.help) {
    process.stdout.write(commandHelp(spec));
    return 0;
  }
  switch (command) {
    case 'run':
      return runCommand(spec, parsed);
    case 'dev':
      return devCommand(spec, parsed);
    case 'upload':
      return uploadCommand(spec, parsed);
    case 'status':
      return statusCommand(spec, parsed);
    case 'webhooks':
      return webhooksCommand(spec, parsed);
    default:
      return evalCommand(spec, parsed);
  }
}

function noPositionals(spec: CommandSpec, positionals: string[]): void {
  if (positionals.length) throw new UsageError(spec, `Expected no arguments but received ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
}

function modelOptions(spec: CommandSpec, v: Parsed['values']) {
  const threads = intFlag(spec, v.threads, 'threads');
  return {
    batchSize: intFlag(spec, v.batch, 'batch') ?? 4,
    threads: threads ?? 0,
    provider: (choiceFlag(spec, v.provider, 'provider', PROVIDERS) ?? 'auto') as ExecutionProviderChoice,
  };
}

async function runCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  const out = stringFlag(v.out);
  if (positionals.length !== 1 || !out) {
    throw new UsageError(spec, `Expected one <inputDir> and --out <outDir> but received ${positionals.length} folder(s)${out ? '' : ' and no --out'}`);
  }
  const model = modelOptions(spec, v);
  const timeoutSeconds = positiveFlag(spec, v.timeout, 'timeout');
  const subs = await localSubscriptions(spec, v);
  const background = await runBackground(spec, stringFlag(v.background));
  const flagProfiles = outputProfile(spec, v, INPUT_PREFIX, background.option);
  if (!flagProfiles.length) refuseBucketProfiles(spec);
  const webPort = intFlag(spec, v['web-port'], 'web-port', { min: 0, max: 65535 });
  await outDirFlag(spec, out, '--out');
  const { runOnce, formatRunSummary } = await import('./run.ts');
  const stop = watchForStop({ onForce: (reason) => process.exit(signalExit(reason)) });
  const abort = new AbortController();
  void stop.stopped.then((reason) => {
    process.stderr.write(`\nstopping (${reason}): the local stack is shut down; outputs so far are kept\n`);
    abort.abort(reason);
  });
  try {
    for (const line of subs.banner) process.stderr.write(`${line}\n`);
    const s = await runOnce({
      inputDir: positionals[0]!,
      outDir: out,
      ...model,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      subscriptions: subs.subscriptions,
      ...(flagProfiles.length ? { profiles: flagProfiles } : {}),
      ...(background.objects.length ? { objects: background.objects } : {}),
      contactSheet: !v['no-contact-sheet'],
      quiet: v.quiet === true,
      signal: abort.signal,
      ...(webPort !== undefined ? { webPort, onPage: (url: string) => process.stderr.write(`page: ${url} (this run's jobs and webhooks, until it ends)\n`) } : {}),
    });
    if (v.json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else process.stdout.write(formatRunSummary(s, out));
    if (abort.signal.aborted) return signalExit(String(abort.signal.reason));
    return photosExit(s);
  } finally {
    stop.dispose();
  }
}

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
    const stop = watchForStop({
      onForce: (reason) => {
        process.stderr.write('stopping now: jobs in flight go back to the queue at the next start\n');
        process.exit(signalExit(reason));
      },
    });
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

async function uploadCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  if (!positionals.length) throw new UsageError(spec, 'Expected at least one file or folder to upload but received none');
  const { uploadFiles } = await import('./stack-client.ts');
  const endpoint = urlFlag(spec, v.endpoint, 'endpoint') ?? DEFAULT_ENDPOINT;
  const bucket = stringFlag(v.bucket) ?? 'greenscreen-uploads';
  const files = await resolveUploads(positionals);
  if (!files.length) throw new UsageError(spec, `Expected image files (jpg, png, webp, avif, tiff, gif…) in ${positionals.join(', ')} but found none`);
  const progress = new Progress('uploading', files.length, process.stderr, v.quiet === true);
  const done = await uploadFiles({ endpoint, bucket }, files, (n) => progress.update(n));
  progress.done();
  process.stdout.write(`uploaded ${done} file(s) to s3://${bucket}/incoming/\n`);
  return 0;
}

/** Every image named on the command line or found in a named folder, with its key. */
async function resolveUploads(paths: string[]): Promise<{ file: string; key: string }[]> {
  const { keyFor, listImages } = await import('./files.ts');
  const { INPUT_PREFIX } = await import('#core/resources');
  const files: { file: string; key: string }[] = [];
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) files.push(...(await listImages(p)).map((f) => ({ file: f, key: keyFor(p, f, INPUT_PREFIX) })));
    else files.push({ file: p, key: INPUT_PREFIX + p.split(/[\\/]/).pop() });
  }
  return files;
}

async function statusCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  noPositionals(spec, positionals);
  const { devJobs, stackStatus } = await import('./stack-client.ts');
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

async function webhooksCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  noPositionals(spec, positionals);
  const dataDir = stringFlag(v['data-dir']) ?? DEFAULT_DATA_DIR;
  const file = join(dataDir, 'webhooks.jsonl');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new PipelineError('CONFIG_ERROR', `Expected the built-in receiver's deliveries in ${file} but there is no such file; start a stack with \`greenscreen dev --data-dir ${dataDir}\``);
  }
  const lines = text.split('\n').filter(Boolean);
  if (v.json) {
    for (const l of lines) process.stdout.write(`${l}\n`);
    return 0;
  }
  for (const l of lines) {
    const d = JSON.parse(l) as { receivedAt: string; type: string; webhookId: string; payload: { data?: { source?: { key?: string }; error?: { code: string } } } };
    const data = d.payload.data;
    process.stdout.write(`${d.receivedAt}  ${d.type.padEnd(13)} ${data?.source?.key ?? ''}${data?.error ? `  ${data.error.code}` : ''}  ${d.webhookId}\n`);
  }
  process.stdout.write(`${lines.length} deliveries (${file})\n`);
  return 0;
}

async function evalCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  if (!positionals.length) throw new UsageError(spec, 'Expected at least one <setDir>[:split] but received none');
  const limit = intFlag(spec, v.limit, 'limit');
  const split = stringFlag(v.split);
  const threads = intFlag(spec, v.threads, 'threads') ?? 2;
  const provider = (choiceFlag(spec, v.provider, 'provider', PROVIDERS) ?? 'auto') as ExecutionProviderChoice;
  const outDir = stringFlag(v.out) ?? '.greenscreen/eval';
  await outDirFlag(spec, outDir, '--out');
  const { evalCli } = await import('./eval.ts');
  return evalCli({
    sets: positionals,
    ...(split ? { split } : {}),
    ...(limit !== undefined ? { limit } : {}),
    threads,
    provider,
    outDir,
    json: v.json === true,
    quiet: v.quiet === true,
  });
}

/** `greenscreen run <inputDir> --out <outDir>`: the whole pipeline, locally, once. */
import { readFile, stat } from 'node:fs/promises';
import { ENV } from '#core/config';
import { OPAQUE_FORMATS, OUTPUT_FORMATS } from '#core/output-formats';
import { DEFAULT_OUTPUT_SPEC, OPTION_NAMES, parseProfiles, resolveOutputSpec, type OptionStrings, type OutputProfile } from '#core/output-options';
import { BACKGROUNDS_PREFIX, INPUT_PREFIX } from '#core/resources';
import { watchForStop } from '#local/lifetime';
import { intFlag, positiveFlag, stringFlag, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelFlags, modelOptions, outDirFlag, SUBSCRIPTIONS_NOTE, webhookFlags, type Command } from '../command-flags.ts';
import { photosExit, signalExit } from '../exit-codes.ts';
import { keySegment } from '../files.ts';
import { localSubscriptions } from '../subscriptions.ts';

/** Output options (#core/output-options): a profile for every upload of this run; object metadata still wins. */
const outputFlags = {
  format: {
    type: 'string',
    value: OUTPUT_FORMATS.join('|'),
    default: DEFAULT_OUTPUT_SPEC.format,
    help: `the cut-out's format (${OPAQUE_FORMATS.join(', ')} needs an opaque --background)`,
  },
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

export const command: Command = {
  spec: {
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
  run: runCommand,
};

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
  const { runOnce, formatRunSummary } = await import('../run.ts');
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

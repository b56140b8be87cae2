/** What several commands share: flag groups, their defaults, and the checks on them. */
import { DEFAULT_ENDPOINT } from '#core/resources';
import type { ExecutionProviderChoice } from '#segment/model-session';
import { choiceFlag, intFlag, UsageError, type CommandSpec, type Parsed } from './args.ts';
import { ensureOutDir, OutDirError } from './files.ts';

/** A command: its flags and help (args.ts), and what it does once they are parsed. */
export interface Command {
  spec: CommandSpec;
  run(spec: CommandSpec, parsed: Parsed): Promise<number>;
}

export const DEFAULT_DATA_DIR = '.greenscreen/dev';
export const PROVIDERS = ['auto', 'cpu', 'cuda'] as const;

export const modelFlags = {
  batch: { type: 'string', value: 'N', default: '4', help: 'photos per model run' },
  threads: { type: 'string', value: 'N', default: 'all cores but one', help: 'onnxruntime threads' },
  provider: { type: 'string', value: 'auto|cpu|cuda', default: 'auto', help: 'execution provider' },
} as const satisfies CommandSpec['flags'];

export const webhookFlags = {
  webhook: { type: 'string', value: 'URL', help: 'also deliver every webhook here (http(s); loopback allowed in local mode)' },
  'webhook-secret': { type: 'string', value: 'whsec_…', default: 'a generated one, printed', help: "--webhook's signing secret" },
} as const satisfies CommandSpec['flags'];

export const stackFlags = {
  endpoint: { type: 'string', value: 'URL', default: DEFAULT_ENDPOINT, help: 'the S3+SQS endpoint of `greenscreen dev`' },
  bucket: { type: 'string', value: 'B', default: 'greenscreen-uploads', help: 'the bucket' },
} as const satisfies CommandSpec['flags'];

export const SUBSCRIPTIONS_NOTE =
  'Webhooks: the built-in receiver always gets every event; --webhook and the subscriptions in\n' +
  '$GREENSCREEN_SUBSCRIPTIONS (a JSON array, as on AWS) get them too, through the same SSRF guard.';

/** --out / --data-dir: a folder that exists or can be created, and can be written: else one line, exit 2. */
export async function outDirFlag(spec: CommandSpec, dir: string, flag: string): Promise<void> {
  try {
    await ensureOutDir(dir, flag);
  } catch (err) {
    if (err instanceof OutDirError) throw new UsageError(spec, err.message, { showUsage: false, cause: err });
    throw err;
  }
}

export function noPositionals(spec: CommandSpec, positionals: string[]): void {
  if (positionals.length) throw new UsageError(spec, `Expected no arguments but received ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
}

export function modelOptions(spec: CommandSpec, v: Parsed['values']) {
  const threads = intFlag(spec, v.threads, 'threads');
  return {
    batchSize: intFlag(spec, v.batch, 'batch') ?? 4,
    threads: threads ?? 0,
    provider: (choiceFlag(spec, v.provider, 'provider', PROVIDERS) ?? 'auto') as ExecutionProviderChoice,
  };
}

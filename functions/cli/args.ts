/**
 * Command-line flags: one spec per command gives its `--help` (flags with defaults), strict parsing
 * (an unknown or foreign flag is a usage error: usage on stderr, exit 2, the same on every command)
 * and the validation of values.
 */
import { parseArgs } from 'node:util';
import { EXIT_STATUS_HELP } from './exit-codes.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help, e.g. "N". */
  value?: string;
  /** The default, as help shows it. */
  default?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as help shows them, e.g. "<inputDir>". */
  args?: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** More text after the flags. */
  notes?: string;
  /** What the exit status table means for this command, after the table. */
  exit?: string;
}

/**
 * A command line that does not fit the command: usage on stderr, exit 2. `showUsage: false` for a
 * value that is well-formed but cannot work (an --out that is a file, a background the run's empty
 * bucket cannot have): one line, exit 2, before anything starts.
 */
export class UsageError extends Error {
  readonly showUsage: boolean;

  constructor(
    readonly command: CommandSpec | undefined,
    message: string,
    options: { showUsage?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'UsageError';
    this.showUsage = options.showUsage ?? true;
  }
}

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', help: 'this help' };

export function commandHelp(spec: CommandSpec): string {
  const flags = { ...spec.flags, help: HELP_FLAG };
  const left = Object.entries(flags).map(([name, f]) => `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` ${f.value ?? 'V'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = Object.values(flags).map((f, i) => `${left[i]!.padEnd(width)}${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}`);
  return (
    `Usage: greenscreen ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]\n\n${spec.summary}\n\nOptions:\n${lines.join('\n')}\n` +
    (spec.notes ? `\n${spec.notes}\n` : '') +
    `\n${EXIT_STATUS_HELP}\n` +
    (spec.exit ? `${spec.exit}\n` : '')
  );
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options = Object.fromEntries(
    Object.entries({ ...spec.flags, help: HELP_FLAG }).map(([name, f]) => [name, { type: f.type, ...(f.short ? { short: f.short } : {}) }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    // Node's parser explains how to pass a positional that starts with '-': keep its first sentence.
    const message = (err as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    throw new UsageError(spec, `${message}; see \`greenscreen ${spec.name} --help\``);
  }
}

const show = (v: string) => JSON.stringify(v);

/** A whole number >= min (default 1), or the default when the flag is absent. */
export function intFlag(spec: CommandSpec, v: string | boolean | undefined, name: string, options: { min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const min = options.min ?? 1;
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || (options.max !== undefined && n > options.max)) {
    const range = options.max !== undefined ? `from ${min} to ${options.max}` : `of at least ${min}`;
    throw new UsageError(spec, `Expected --${name} to be a whole number ${range} but received ${show(String(v))}`);
  }
  return n;
}

/** A number above 0 (fractions allowed), or undefined when absent. */
export function positiveFlag(spec: CommandSpec, v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(spec, `Expected --${name} to be a number above 0 but received ${show(String(v))}`);
  return n;
}

export function choiceFlag<T extends string>(spec: CommandSpec, v: string | boolean | undefined, name: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new UsageError(spec, `Expected --${name} to be one of ${choices.join(', ')} but received ${show(String(v))}`);
  }
  return v as T;
}

export function urlFlag(spec: CommandSpec, v: string | boolean | undefined, name: string): string | undefined {
  if (v === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(String(v));
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(spec, `Expected --${name} to be an http:// or https:// URL but received ${show(String(v))}`);
  }
  return String(v);
}

export function stringFlag(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

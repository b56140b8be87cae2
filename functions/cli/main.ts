/** `greenscreen` — the command line. Each command is a file of its own (commands/), over a module of its own. */
import { commandHelp, parseCommand, UsageError, type CommandSpec } from './args.ts';
import type { Command } from './command-flags.ts';
import { command as devCommand } from './commands/dev.ts';
import { command as evalCommand } from './commands/eval.ts';
import { command as runCommand } from './commands/run.ts';
import { command as statusCommand } from './commands/status.ts';
import { command as uploadCommand } from './commands/upload.ts';
import { command as webhooksCommand } from './commands/webhooks.ts';
import { describeError } from './errors.ts';
import { EXIT, EXIT_STATUS_HELP } from './exit-codes.ts';

const HANDLERS = { run: runCommand, dev: devCommand, upload: uploadCommand, status: statusCommand, webhooks: webhooksCommand, eval: evalCommand } satisfies Record<string, Command>;

/** Every command's flags and help, by name (`reprocess` parses its own: cli/reprocess.ts). */
export const COMMANDS = Object.fromEntries(Object.entries(HANDLERS).map(([name, c]) => [name, c.spec])) as Record<keyof typeof HANDLERS, CommandSpec>;

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
  return HANDLERS[command as keyof typeof HANDLERS].run(spec, parsed);
}

/** `greenscreen eval <setDir>[:split] ...`: model quality and speed, set by set, through the serving code. */
import type { ExecutionProviderChoice } from '#segment/model-session';
import { choiceFlag, intFlag, stringFlag, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { modelFlags, outDirFlag, PROVIDERS, type Command } from '../command-flags.ts';

export const command: Command = {
  spec: {
    name: 'eval',
    args: '<setDir>[:split] ...',
    summary:
      'Quality and speed of the shipped model, set by set, through the serving code (what users get, the subject rule included): one row per set (dataset IoU, mean IoU, ' +
      'boundary F, MAE, ms/image), the all-sets mean and minimum, a sheet of each set\'s 12 worst photos; ignore/<id>.png ' +
      'regions are left out of every score. e.g. greenscreen eval ../shared/data/pfcn:val ../shared/data/ccp:test --json',
    flags: {
      split: { type: 'string', value: 'NAME', default: 'every photo', help: 'the split of sets given without :split, e.g. test' },
      limit: { type: 'string', value: 'N', help: 'the first N photos of each set' },
      threads: { type: 'string', value: 'N', default: '2', help: 'onnxruntime threads' },
      provider: modelFlags.provider,
      'model-card': {
        type: 'string',
        value: 'PATH',
        default: 'the shipped models/tiramisu.card.json',
        help: 'score another model: its card, with the weights it names beside it (a candidate before it ships)',
      },
      out: { type: 'string', value: 'DIR', default: '.greenscreen/eval', help: 'where the worst-12 contact sheets go (<set>-<split>-worst.jpg)' },
      quiet: { type: 'boolean', help: 'no progress line' },
      json: {
        type: 'boolean',
        help: 'stdout: one JSON line, {"sets": {"pfcn/val": {datasetIoU, meanIoU, boundaryF, mae, n, noSubject, msPerImage}, ...}, "summary", "msPerImage", ...}; the table goes to stderr',
      },
    },
    exit: '  eval: 0 when every set was scored; 1 when a set cannot be read.',
  },
  run: evalCommand,
};

async function evalCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  if (!positionals.length) throw new UsageError(spec, 'Expected at least one <setDir>[:split] but received none');
  const limit = intFlag(spec, v.limit, 'limit');
  const split = stringFlag(v.split);
  const threads = intFlag(spec, v.threads, 'threads') ?? 2;
  const provider = (choiceFlag(spec, v.provider, 'provider', PROVIDERS) ?? 'auto') as ExecutionProviderChoice;
  const outDir = stringFlag(v.out) ?? '.greenscreen/eval';
  const modelCard = stringFlag(v['model-card']);
  await outDirFlag(spec, outDir, '--out');
  const { evalCli } = await import('../eval.ts');
  return evalCli({
    sets: positionals,
    ...(split ? { split } : {}),
    ...(limit !== undefined ? { limit } : {}),
    threads,
    provider,
    outDir,
    ...(modelCard ? { modelCard } : {}),
    json: v.json === true,
    quiet: v.quiet === true,
  });
}

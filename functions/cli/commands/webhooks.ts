/** `greenscreen webhooks`: the deliveries the dev stack's built-in receiver accepted. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '#core/errors';
import { stringFlag, type CommandSpec, type Parsed } from '../args.ts';
import { DEFAULT_DATA_DIR, noPositionals, type Command } from '../command-flags.ts';

export const command: Command = {
  spec: {
    name: 'webhooks',
    summary: "The deliveries the dev stack's built-in receiver accepted (signature verified), oldest first.",
    flags: {
      'data-dir': { type: 'string', value: 'DIR', default: DEFAULT_DATA_DIR, help: 'the data directory of `greenscreen dev`' },
      json: { type: 'boolean', help: 'stdout: JSON lines, one per delivery, as received' },
    },
    exit: '  webhooks: 0 when the deliveries were listed; 1 when there is no record of them.',
  },
  run: webhooksCommand,
};

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

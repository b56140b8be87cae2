/** `greenscreen upload <file|dir>...`: photos into the dev stack's incoming/. */
import { stat } from 'node:fs/promises';
import { stringFlag, urlFlag, UsageError, type CommandSpec, type Parsed } from '../args.ts';
import { DEFAULT_ENDPOINT } from '#core/resources';
import { stackFlags, type Command } from '../command-flags.ts';
import { Progress } from '../progress.ts';

export const command: Command = {
  spec: {
    name: 'upload',
    args: '<file|dir>...',
    summary: "Upload photos (folders: every image in them) to the dev stack's incoming/ prefix.",
    flags: { ...stackFlags, quiet: { type: 'boolean', help: 'no progress line' } },
    exit: '  upload: 0 when every file was uploaded (processing is not waited for: see status); 1 when the stack is not there.',
  },
  run: uploadCommand,
};

async function uploadCommand(spec: CommandSpec, { values: v, positionals }: Parsed): Promise<number> {
  if (!positionals.length) throw new UsageError(spec, 'Expected at least one file or folder to upload but received none');
  const { uploadFiles } = await import('../stack-client.ts');
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
  const { keyFor, listImages } = await import('../files.ts');
  const { INPUT_PREFIX } = await import('#core/resources');
  const files: { file: string; key: string }[] = [];
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) files.push(...(await listImages(p)).map((f) => ({ file: f, key: keyFor(p, f, INPUT_PREFIX) })));
    else files.push({ file: p, key: INPUT_PREFIX + p.split(/[\\/]/).pop() });
  }
  return files;
}

/** `greenscreen` — the command line. Each command is a thin wrapper over a module of its own. */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createS3Client } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { INPUT_PREFIX, RESOURCE_DEFAULTS, RESULTS_PREFIX } from '#core/resources';
import { jobResultSchema, parseMessage, type JobResult } from '#core/messages';
import { startLocalStack } from '#local/stack';
import { SourceReads, startStackWebServer } from '#local/web-server';
import type { ExecutionProviderChoice } from '#segment/model';
import { keyFor, listImages } from './files.ts';
import { Progress } from './progress.ts';
import { runOnce } from './run.ts';

const USAGE = `greenscreen — remove the background from photos of people

Usage:
  greenscreen run <inputDir> --out <outDir> [--batch 4] [--threads N] [--provider auto|cpu|cuda] [--timeout S]
      Start the local stack, upload every image, wait for every job, write
      <outDir>/<stem>/{mask.png,cutout.png,result.json}, <outDir>/webhooks.jsonl, <outDir>/contact-sheet.jpg.
  greenscreen dev [--port 4566] [--web-port 4567]
      The same stack, long-running. Upload with \`greenscreen upload\` or \`aws s3 cp --endpoint-url\`;
      the page at http://127.0.0.1:4567/ cuts photos out in the browser and shows the pipeline's jobs and webhooks.
  greenscreen upload <file|dir>... [--endpoint http://127.0.0.1:4566] [--bucket B]
  greenscreen status [--endpoint http://127.0.0.1:4566] [--bucket B] [--json]
  greenscreen eval <setDir>[:split] ... [--split test] [--limit N] [--json] [--out dir] [--threads 2]
      Quality and speed of the shipped model, set by set, through the serving code (dataset IoU, mean IoU, boundary F, MAE, ms/image).
  greenscreen reprocess --prefix <p> [--force] [--model V] [--dry-run] [--concurrency N] [--rate R]
      Re-run a prefix (see \`greenscreen reprocess --help\`).
`;

const common = {
  out: { type: 'string' },
  batch: { type: 'string' },
  threads: { type: 'string' },
  provider: { type: 'string' },
  timeout: { type: 'string' },
  port: { type: 'string' },
  'web-port': { type: 'string' },
  endpoint: { type: 'string' },
  bucket: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'no-contact-sheet': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`Expected --${name} to be a non-negative number but received ${JSON.stringify(v)}`);
  return n;
};

/** Runs a command; errors print as one clear line (set GREENSCREEN_DEBUG=1 for the stack and cause). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`greenscreen: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    if (process.env.GREENSCREEN_DEBUG) console.error(err);
    return 1;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'reprocess') {
    const { reprocessCommand } = await import('./reprocess.ts');
    return reprocessCommand(rest);
  }
  const { values: v, positionals } = parseArgs({ args: rest, options: common, allowPositionals: true });
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const provider = (v.provider ?? 'auto') as ExecutionProviderChoice;
  if (!['auto', 'cpu', 'cuda'].includes(provider)) throw new Error(`Expected --provider auto, cpu or cuda but received ${provider}`);
  switch (command) {
    case 'run': {
      const inputDir = positionals[0];
      if (!inputDir || !v.out) {
        process.stderr.write('Expected: greenscreen run <inputDir> --out <outDir>\n');
        return 2;
      }
      const s = await runOnce({
        inputDir,
        outDir: v.out,
        batchSize: num(v.batch, 'batch') ?? 4,
        threads: num(v.threads, 'threads') ?? 0,
        provider,
        ...(v.timeout ? { timeoutSeconds: num(v.timeout, 'timeout')! } : {}),
        contactSheet: !v['no-contact-sheet'],
        quiet: v.quiet ?? false,
      });
      if (v.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else {
        process.stdout.write(
          `${s.succeeded} succeeded, ${s.failed} failed, ${s.lost} lost of ${s.total} in ${s.seconds.toFixed(1)} s ` +
            `(${s.imagesPerSecond.toFixed(2)} images/s); ${s.webhooksVerified} webhooks delivered and verified\n` +
            s.failures.map((f) => `  failed: ${f.file}: ${f.code}: ${f.message}\n`).join('') +
            `outputs: ${v.out}${s.contactSheet ? `\ncontact sheet: ${s.contactSheet}` : ''}\n`,
        );
      }
      return s.lost === 0 ? 0 : 1;
    }
    case 'dev': {
      const reads = new SourceReads();
      const stack = await startLocalStack({
        wrapStore: (store) => reads.wrap(store),
        port: num(v.port, 'port') ?? 4566,
        batchSize: num(v.batch, 'batch') ?? 4,
        threads: num(v.threads, 'threads') ?? 0,
        provider,
        logger: (await import('#core/logger')).createLogger('local'),
      });
      const web = await startStackWebServer(stack, { reads, port: num(v['web-port'], 'web-port') ?? 4567 });
      process.stdout.write(
        `greenscreen dev: S3+SQS at ${stack.endpoint}, bucket ${stack.resources.bucket}\n` +
          `  page:     ${web.url}   (photos cut out in the browser; the pipeline's jobs and webhooks)\n` +
          `  upload:   npx greenscreen upload photo.jpg   (or: aws s3 cp photo.jpg s3://${stack.resources.bucket}/${INPUT_PREFIX} --endpoint-url ${stack.endpoint})\n` +
          `  status:   npx greenscreen status\n` +
          `  webhooks: ${stack.receiver.url} (secret ${stack.webhookSecret})\n` +
          `Ctrl-C to stop.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write('stopping: finishing in-flight jobs…\n');
      await web.close();
      await stack.stop();
      return 0;
    }
    case 'upload': {
      const endpoint = v.endpoint ?? 'http://127.0.0.1:4566';
      const bucket = v.bucket ?? RESOURCE_DEFAULTS.bucketName;
      const store = new S3ObjectStore(createS3Client({ region: 'us-east-1', endpoint }));
      const files: { file: string; key: string }[] = [];
      for (const p of positionals) {
        const images = await listImages(p).catch(() => undefined);
        if (images) files.push(...images.map((f) => ({ file: f, key: keyFor(p, f, INPUT_PREFIX) })));
        else files.push({ file: p, key: INPUT_PREFIX + p.split('/').pop() });
      }
      const progress = new Progress('uploading', files.length, process.stderr, v.quiet);
      let done = 0;
      for (const f of files) {
        await store.put(bucket, f.key, await readFile(f.file), { contentType: 'application/octet-stream' });
        progress.update(++done);
      }
      progress.done();
      process.stdout.write(`uploaded ${done} file(s) to s3://${bucket}/${INPUT_PREFIX}\n`);
      return 0;
    }
    case 'status': {
      const endpoint = v.endpoint ?? 'http://127.0.0.1:4566';
      const bucket = v.bucket ?? RESOURCE_DEFAULTS.bucketName;
      const store = new S3ObjectStore(createS3Client({ region: 'us-east-1', endpoint }));
      const rows: (Pick<JobResult, 'jobId' | 'status' | 'error'> & { key: string })[] = [];
      let token: string | undefined;
      do {
        const page = await store.list(bucket, RESULTS_PREFIX, token);
        for (const o of page.objects.filter((o) => o.key.endsWith('/result.json'))) {
          let r: JobResult;
          try {
            r = parseMessage(jobResultSchema, (await store.get(bucket, o.key)).body.toString('utf8'), o.key, 'result');
          } catch (err) {
            rows.push({ key: o.key, jobId: '', status: 'failed', error: { code: 'UNREADABLE', message: (err as Error).message } });
            continue;
          }
          rows.push({ key: r.source.key, jobId: r.jobId, status: r.status, ...(r.error ? { error: r.error } : {}) });
        }
        token = page.nextToken;
      } while (token);
      if (v.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) process.stdout.write(`${r.status.padEnd(9)} ${r.key}${r.error ? `  ${r.error.code}: ${r.error.message}` : ''}\n`);
      return 0;
    }
    case 'eval': {
      if (!positionals.length) {
        process.stderr.write('Expected: greenscreen eval <setDir>[:split] ... [--split test]\n');
        return 2;
      }
      const { evalCli } = await import('./eval.ts');
      return evalCli({
        sets: positionals,
        ...(v.split ? { split: v.split } : {}),
        ...(v.limit ? { limit: num(v.limit, 'limit')! } : {}),
        threads: num(v.threads, 'threads') ?? 2,
        provider,
        outDir: v.out ?? '.greenscreen/eval',
        json: v.json === true,
        quiet: v.quiet === true,
      });
    }
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

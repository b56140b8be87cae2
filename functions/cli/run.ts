/** `greenscreen run <inputDir> --out <outDir>`: one shot through the whole local pipeline. */
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '#core/errors';
import { INPUT_PREFIX } from '#core/resources';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { ObjectStore } from '#core/ports';
import { startLocalStack, type LocalStackOptions } from '#local/stack';
import { SourceReads, startStackWebServer } from '#local/web-server';
import { contactSheet } from './contact-sheet.ts';
import { keyFor, listImages, outputNames } from './files.ts';
import { Progress } from './progress.ts';

export interface RunOptions extends Pick<LocalStackOptions, 'batchSize' | 'threads' | 'provider' | 'modelCard' | 'subscriptions' | 'profiles'> {
  inputDir: string;
  outDir: string;
  timeoutSeconds?: number;
  contactSheet?: boolean;
  quiet?: boolean;
  /** Upload concurrency. */
  concurrency?: number;
  /** Stop early (Ctrl-C, SIGTERM): the jobs not ended by then count as lost. */
  signal?: AbortSignal;
  /** Serve the page (jobs and webhooks of this run) on 127.0.0.1:webPort while the run lasts; 0 = any free port. */
  webPort?: number;
  /** Told the page's URL once it is up. */
  onPage?: (url: string) => void;
}

export interface RunSummary {
  total: number;
  succeeded: number;
  failed: number;
  lost: number;
  seconds: number;
  imagesPerSecond: number;
  webhooksVerified: number;
  contactSheet?: string;
  failures: { file: string; code: string; message: string }[];
  workerPeakRssMB: number;
}

interface WebhookData {
  status: 'succeeded' | 'failed';
  source: { key: string };
}

export async function runOnce(options: RunOptions): Promise<RunSummary> {
  const files = await listImages(options.inputDir);
  if (!files.length) throw new ConfigError(`Expected image files (jpg, png, webp, avif, tiff, gif…) in ${options.inputDir} but found none`);
  await mkdir(options.outDir, { recursive: true });
  const webhooksJsonl = join(options.outDir, 'webhooks.jsonl');
  await rm(webhooksJsonl, { force: true });
  // S3 notifications arrive within milliseconds in AWS: list often, so the first photos do not wait
  // out the event source's idle back-off (it lists at most every 4 x pollMs while nothing is new).
  const reads = options.webPort !== undefined ? new SourceReads() : undefined;
  const stack = await startLocalStack({ pollMs: 50, ...options, webhooksJsonl, ...(reads ? { wrapStore: (s: ObjectStore) => reads.wrap(s) } : {}) });
  const web = options.webPort !== undefined ? await startStackWebServer(stack, { reads, port: options.webPort }).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  }) : undefined;
  if (web) options.onPage?.(web.url);
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const names = outputNames(files);
  const byKey = new Map(files.map((f) => [keyFor(options.inputDir, f, INPUT_PREFIX), f]));
  const progress = new Progress('processing', files.length, process.stderr, options.quiet);
  const started = performance.now();
  try {
    // Upload everything (bounded concurrency), like a customer dropping a folder into the bucket.
    const queue = [...byKey.entries()];
    await Promise.all(
      Array.from({ length: options.concurrency ?? 8 }, async () => {
        for (let next = queue.shift(); next && !options.signal?.aborted; next = queue.shift()) {
          const [key, file] = next;
          await stack.store.put(stack.resources.bucket, key, await readFile(file), { contentType: 'application/octet-stream' });
        }
      }),
    );
    // Wait until every upload has ended in a verified webhook (success or failure), or time out.
    const deadline = started + 1000 * (options.timeoutSeconds ?? 120 + 5 * files.length);
    const ended = new Map<string, WebhookData>();
    while (ended.size < byKey.size && performance.now() < deadline && !options.signal?.aborted) {
      for (const d of stack.receiver.deliveries) {
        const data = (d.payload as { data: WebhookData }).data;
        if (byKey.has(data.source.key)) ended.set(data.source.key, data);
      }
      const ok = [...ended.values()].filter((d) => d.status === 'succeeded').length;
      progress.update(ended.size, { succeeded: ok, failed: ended.size - ok });
      if (ended.size < byKey.size) await new Promise((r) => setTimeout(r, 50));
    }
    progress.done();
    const seconds = (performance.now() - started) / 1000;

    // Collect outputs: outDir/<stem>/{mask.png,cutout.png,result.json}
    const failures: RunSummary['failures'] = [];
    const results = new ObjectResultStore(stack.store, stack.resources.bucket);
    const sheetRows: { label: string; cells: Buffer[] }[] = [];
    let succeeded = 0;
    for (const [key, file] of byKey) {
      if (!ended.has(key)) continue;
      const dir = join(options.outDir, names.get(file)!);
      await mkdir(dir, { recursive: true });
      const result = await results.read(key);
      if (!result) throw new Error(`Expected a committed result for ${key} after its webhook but found none`);
      await writeFile(join(dir, 'result.json'), JSON.stringify(result, null, 2));
      if (result.status === 'succeeded') {
        succeeded++;
        // The outputs the job's options asked for; the cut-out keeps its format's extension.
        const { mask: maskKey, cutout: cutoutKey } = result.outputs;
        const get = (k: string | undefined) => (k ? stack.store.get(stack.resources.bucket, k).then((o) => o.body) : undefined);
        const [mask, cutout] = await Promise.all([get(maskKey), get(cutoutKey)]);
        await Promise.all([
          mask ? writeFile(join(dir, 'mask.png'), mask) : undefined,
          cutout ? writeFile(join(dir, `cutout${cutoutKey!.slice(cutoutKey!.lastIndexOf('.'))}`), cutout) : undefined,
        ]);
        if (options.contactSheet !== false && sheetRows.length < 100) {
          sheetRows.push({ label: names.get(file)!, cells: [await readFile(file), ...[mask, cutout].filter((b): b is Buffer => b !== undefined)] });
        }
      } else {
        failures.push({ file, code: result.error?.code ?? 'UNKNOWN', message: result.error?.message ?? '' });
      }
    }
    let sheet: string | undefined;
    if (sheetRows.length) {
      sheet = join(options.outDir, 'contact-sheet.jpg');
      await writeFile(sheet, await contactSheet(sheetRows));
    }
    return {
      total: files.length,
      succeeded,
      failed: ended.size - succeeded,
      lost: files.length - ended.size,
      seconds,
      imagesPerSecond: ended.size / seconds,
      webhooksVerified: stack.receiver.deliveries.length,
      failures,
      workerPeakRssMB: Math.round(peakRss / 2 ** 20),
      ...(sheet ? { contactSheet: sheet } : {}),
    };
  } finally {
    clearInterval(rssTimer);
    await web?.close();
    await stack.stop();
  }
}

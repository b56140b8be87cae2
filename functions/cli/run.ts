/** `greenscreen run <inputDir> --out <outDir>`: one shot through the whole local pipeline. */
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '#core/errors';
import { INPUT_PREFIX } from '#core/resources';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { ObjectStore } from '#core/ports';
import { startLocalStack, type LocalStackOptions } from '#local/stack';
import { SourceReads, startStackWebServer } from '#local/web-server';
import { writeContactSheets, type SheetCell } from './contact-sheet.ts';
import { ensureOutDir, keyFor, listImages, outputNames } from './files.ts';
import { Progress } from './progress.ts';

export interface RunOptions extends Pick<LocalStackOptions, 'batchSize' | 'threads' | 'provider' | 'modelCard' | 'subscriptions' | 'profiles'> {
  inputDir: string;
  outDir: string;
  timeoutSeconds?: number;
  /** Contact sheets of every photo that succeeded (contact-sheet.ts); default true. */
  contactSheet?: boolean;
  quiet?: boolean;
  /**
   * Objects put in the bucket before the photos, e.g. a local --background file as
   * `backgrounds/<name>` (a run's stack starts with an empty bucket).
   */
  objects?: { key: string; body: Buffer }[];
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
  /** The contact sheets written (none with --no-contact-sheet, or when the run was stopped). */
  contactSheets: string[];
  failures: { file: string; code: string; message: string }[];
  /** The photos whose jobs never ended (lost, or unfinished at the timeout or the stop). */
  lostFiles: string[];
  /** Set when a signal (or the launcher's end) stopped the run early. */
  stoppedBy?: string;
  workerPeakRssMB: number;
}

interface WebhookData {
  status: 'succeeded' | 'failed';
  source: { key: string };
}

export async function runOnce(options: RunOptions): Promise<RunSummary> {
  const files = await listImages(options.inputDir);
  if (!files.length) throw new ConfigError(`Expected image files (jpg, png, webp, avif, tiff, gif…) in ${options.inputDir} but found none`);
  await ensureOutDir(options.outDir);
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
    for (const o of options.objects ?? []) await stack.store.put(stack.resources.bucket, o.key, o.body, { contentType: 'application/octet-stream' });
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
    const sheetCells: SheetCell[] = [];
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
        const cutoutFile = cutoutKey ? join(dir, `cutout${cutoutKey.slice(cutoutKey.lastIndexOf('.'))}`) : undefined;
        await Promise.all([mask ? writeFile(join(dir, 'mask.png'), mask) : undefined, cutout ? writeFile(cutoutFile!, cutout) : undefined]);
        sheetCells.push({ label: names.get(file)!, images: [file, ...(mask ? [join(dir, 'mask.png')] : []), ...(cutout ? [cutoutFile!] : [])] });
      } else {
        failures.push({ file, code: result.error?.code ?? 'UNKNOWN', message: result.error?.message ?? '' });
      }
    }
    // A stopped run keeps the outputs it has but draws no sheets: it must end within seconds.
    const sheets = options.contactSheet !== false && !options.signal?.aborted ? await writeContactSheets(options.outDir, 'contact-sheet', sheetCells) : [];
    return {
      total: files.length,
      succeeded,
      failed: ended.size - succeeded,
      lost: files.length - ended.size,
      seconds,
      imagesPerSecond: ended.size / seconds,
      webhooksVerified: stack.receiver.deliveries.length,
      contactSheets: sheets,
      failures,
      lostFiles: [...byKey].filter(([key]) => !ended.has(key)).map(([, file]) => file),
      workerPeakRssMB: Math.round(peakRss / 2 ** 20),
      ...(options.signal?.aborted ? { stoppedBy: String(options.signal.reason ?? 'signal') } : {}),
    };
  } finally {
    clearInterval(rssTimer);
    await web?.close();
    await stack.stop();
  }
}

/** Failures named in the human summary; every one is in its result.json and in --json. */
export const SUMMARY_FAILURES = 5;

/**
 * The summary a person reads: the counts, how many photos failed and why (counts by code, the
 * first reasons), which never ended, and where the outputs are. The exit status says the same
 * for scripts (exit-codes.ts).
 */
export function formatRunSummary(s: RunSummary, outDir: string): string {
  const lines = [
    `${s.succeeded} succeeded, ${s.failed} failed, ${s.lost} lost of ${s.total} in ${s.seconds.toFixed(1)} s ` +
      `(${s.imagesPerSecond.toFixed(2)} images/s); ${s.webhooksVerified} webhooks delivered and verified`,
  ];
  if (s.stoppedBy) lines.push(`stopped by ${s.stoppedBy}: the jobs not ended by then count as lost`);
  if (s.failures.length) {
    const byCode = new Map<string, number>();
    for (const f of s.failures) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
    const codes = [...byCode].map(([code, n]) => `${code} ×${n}`).join(', ');
    lines.push(`${s.failures.length} photo${s.failures.length === 1 ? '' : 's'} failed, each with a recorded reason (${codes}):`);
    for (const f of s.failures.slice(0, SUMMARY_FAILURES)) lines.push(`  failed: ${f.file}: ${f.code}: ${f.message}`);
    if (s.failures.length > SUMMARY_FAILURES) {
      lines.push(`  … and ${s.failures.length - SUMMARY_FAILURES} more (each in ${join(outDir, '<stem>', 'result.json')}; all with --json)`);
    }
  }
  if (s.lostFiles.length) {
    const shown = s.lostFiles.slice(0, SUMMARY_FAILURES).join(', ');
    lines.push(
      `${s.lostFiles.length} photo${s.lostFiles.length === 1 ? '' : 's'} never ended (lost, or unfinished at --timeout): ${shown}` +
        (s.lostFiles.length > SUMMARY_FAILURES ? `, … and ${s.lostFiles.length - SUMMARY_FAILURES} more` : ''),
    );
  }
  lines.push(`outputs: ${outDir}`);
  if (s.contactSheets.length === 1) lines.push(`contact sheet: ${s.contactSheets[0]}`);
  else if (s.contactSheets.length > 1) lines.push(`contact sheets: ${s.contactSheets.length}, ${s.contactSheets[0]} … ${s.contactSheets.at(-1)}`);
  return `${lines.join('\n')}\n`;
}

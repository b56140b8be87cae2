/** A burst of N photos at once; the worker a separate process whose RSS is sampled every 500 ms. */
import { readFile } from 'node:fs/promises';
import { startLocalStack } from '#local/stack';
import { spawnWorker } from '#harness/child-worker';
import { photoPath } from '#harness/images';
import { auditRun, uploadAll, waitForWebhooks, type Upload } from '#harness/pipeline';
import type { FaultBench } from './scenario.ts';

export interface BurstFigures {
  photos: number;
  seconds: number;
  imagesPerSecond: number;
  lost: number;
  duplicates: number;
  invalid: number;
  peakRssMB: number;
  rssSlopeMBPerMin: number;
  rssAtQuartersMB: number[];
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export async function burst(bench: FaultBench, n: number): Promise<BurstFigures> {
  const stack = await startLocalStack({ ...bench.stackDefaults, worker: false, pollMs: 200 });
  const worker = spawnWorker(stack, { visibilitySeconds: 120, batchSize: 4, threads: bench.threads });
  try {
    await worker.waitFor(() => worker.count('worker ready') > 0, 120_000, 'the worker to load the model');
    const bodies = new Map<string, Buffer>();
    const uploads: Upload[] = [];
    for (let i = 0; i < n; i++) {
      const path = photoPath(i);
      if (!bodies.has(path)) bodies.set(path, await readFile(path));
      uploads.push({ key: `incoming/burst/${String(i).padStart(5, '0')}.jpg`, bytes: bodies.get(path)! });
    }
    const keys = uploads.map((u) => u.key);
    const samples: { t: number; rss: number }[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => void rssOf(worker.process.pid!).then((rss) => rss > 0 && samples.push({ t: (performance.now() - t0) / 60_000, rss })), 500);
    const progress = setInterval(() => bench.log(`  burst: ${stack.receiver.deliveries.length}/${n} · worker RSS ${(samples.at(-1)?.rss ?? 0).toFixed(0)} MB`), 15_000);
    await uploadAll(stack.store, stack.resources.bucket, uploads, 16);
    await waitForWebhooks(stack.receiver, keys, 60_000 + n * 3_000).catch((err: Error) => bench.log(`  ${err.message}`));
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    clearInterval(progress);
    const audit = await auditRun(stack, keys);
    // Least-squares slope of RSS over time, second half of the run.
    const half = samples.filter((s) => s.t >= samples.at(-1)!.t / 2);
    const mt = half.reduce((a, s) => a + s.t, 0) / half.length;
    const mr = half.reduce((a, s) => a + s.rss, 0) / half.length;
    const slope = half.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / Math.max(1e-9, half.reduce((a, s) => a + (s.t - mt) ** 2, 0));
    const at = (q: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.rss);
    return {
      photos: n,
      seconds: Math.round(seconds),
      imagesPerSecond: Math.round((n / seconds) * 100) / 100,
      lost: audit.lost.length,
      duplicates: audit.duplicates.length,
      invalid: audit.invalid.length,
      peakRssMB: Math.round(Math.max(...samples.map((s) => s.rss))),
      rssSlopeMBPerMin: Math.round(slope * 10) / 10,
      rssAtQuartersMB: [0.25, 0.5, 0.75, 0.99].map(at),
    };
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    await stack.stop();
  }
}

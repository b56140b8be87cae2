/**
 * Whole-pipeline figures (issue: local pipeline):
 *  (a) end-to-end images/s of `greenscreen run` on N photos / the worker's model-only images/s at
 *      the same batch size and threads (1.0 = I/O, decoding and encoding fully hidden behind inference);
 *  (b) the worker's peak RSS while a burst of photos goes through it, as a separate process (the
 *      in-memory emulator would otherwise be counted), sampled every 250 ms, with the slope over
 *      the second half (flat = not growing with the count).
 *
 *   npm run bench:pipeline -- [--n 100] [--burst 1000] [--batch 4] [--threads cores-1] [--json]
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ENV } from '#core/config';
import { runOnce } from '#cli/run';
import { decodeImage } from '#segment/image';
import { assembleBatch, createSegmenter, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { startLocalStack } from '#local/stack';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({
  options: {
    n: { type: 'string' }, burst: { type: 'string' }, batch: { type: 'string' }, threads: { type: 'string' },
    json: { type: 'boolean' }, data: { type: 'string' },
  },
});
const N = Number(values.n ?? 100);
const BURST = Number(values.burst ?? 1000);
const BATCH = Number(values.batch ?? 4);
// The worker's default: every core but one for inference (functions/segment/build-worker.ts).
const THREADS = Number(values.threads ?? Math.max(1, availableParallelism() - 1));
const IMAGES = values.data ?? join(import.meta.dirname, '../../shared/data/ccp/images');
const log = (s: string) => process.stderr.write(`${s}\n`);

const all = (await readdir(IMAGES)).filter((f) => f.endsWith('.jpg')).sort();
const photos = all.slice(-N); // the test split (ids 0801-0900) when N = 100

// (a1) model-only: the worker's segmenter's session alone on pre-decoded, pre-processed inputs, in batches of BATCH.
async function modelOnly(): Promise<number> {
  const loaded = await loadModelCard(cardPathFor('tiramisu'));
  const { session } = await createSegmenter(loaded, { provider: 'auto', threads: THREADS, maxBatch: BATCH });
  const pre = [];
  for (const f of photos) pre.push(await preprocess(await decodeImage(await readFile(join(IMAGES, f)), { maxPixels: 1e8 }), loaded.card));
  const warm = assembleBatch(pre.slice(0, BATCH), loaded.card.input.padValue);
  await session.run(warm.data, warm.dims);
  const t0 = performance.now();
  for (let i = 0; i < pre.length; i += BATCH) {
    const b = assembleBatch(pre.slice(i, i + BATCH), loaded.card.input.padValue);
    await session.run(b.data, b.dims);
  }
  const secs = (performance.now() - t0) / 1000;
  await session.release();
  return pre.length / secs;
}

// (a2) end to end: `greenscreen run` on the same photos, same batch size and threads.
async function endToEnd(): Promise<{ imagesPerSecond: number; lost: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-bench-in-'));
  const out = await mkdtemp(join(tmpdir(), 'gs-bench-out-'));
  await Promise.all(photos.map((f) => copyFile(join(IMAGES, f), join(dir, f))));
  const s = await runOnce({ inputDir: dir, outDir: out, batchSize: BATCH, threads: THREADS, provider: 'auto', quiet: true, contactSheet: false });
  await rm(dir, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
  return { imagesPerSecond: s.imagesPerSecond, lost: s.lost };
}

function rssOf(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8')
    .then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024)
    .catch(() => 0);
}

// (b) memory: a separate worker process (functions/segment/main.ts, as in ECS) under a burst.
async function burst(): Promise<{ peakRssMB: number; slopeMBPer100: number; seconds: number; lost: number; samples: number[] }> {
  const stack = await startLocalStack({ worker: false, modelVersion: (await loadModelCard(cardPathFor('tiramisu'))).card.version, pollMs: 200 });
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/segment/main.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: {
      ...process.env,
      [ENV.endpoint]: stack.endpoint,
      [ENV.bucket]: stack.resources.bucket,
      [ENV.jobsQueueUrl]: stack.resources.jobsQueueUrl,
      [ENV.eventsQueueUrl]: stack.resources.eventsQueueUrl,
      [ENV.batchSize]: String(BATCH),
      [ENV.threads]: String(THREADS),
      GREENSCREEN_LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const samples: { done: number; rss: number }[] = [];
  const bodies = await Promise.all(all.map((f) => readFile(join(IMAGES, f))));
  const t0 = performance.now();
  let done = 0;
  const sample = async () => samples.push({ done, rss: await rssOf(child.pid!) });
  const timer = setInterval(() => void sample().catch(() => undefined), 250); // a sample the child's exit cut short is just not taken
  const queue = Array.from({ length: BURST }, (_, i) => i);
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await stack.store.put(stack.resources.bucket, `incoming/burst/${String(i).padStart(5, '0')}.jpg`, bodies[i % bodies.length]!, { contentType: 'image/jpeg' });
    }
  }));
  const deadline = Date.now() + 60_000 + BURST * 2_000;
  while ((done = stack.receiver.deliveries.length) < BURST && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    log(`  burst: ${done}/${BURST} · worker RSS ${(samples.at(-1)?.rss ?? 0).toFixed(0)} MB`);
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) log(`worker exited with ${code} after SIGTERM`);
  await stack.stop();
  const rss = samples.map((s) => s.rss).filter((r) => r > 0);
  const second = samples.filter((s) => s.done >= BURST / 2 && s.rss > 0);
  // least-squares slope of RSS against photos done, over the second half
  const mx = second.reduce((a, s) => a + s.done, 0) / Math.max(1, second.length);
  const my = second.reduce((a, s) => a + s.rss, 0) / Math.max(1, second.length);
  const sxy = second.reduce((a, s) => a + (s.done - mx) * (s.rss - my), 0);
  const sxx = second.reduce((a, s) => a + (s.done - mx) ** 2, 0);
  const q = (p: number) => samples.find((s) => s.done >= p * BURST)?.rss ?? NaN;
  return {
    peakRssMB: Math.max(...rss),
    slopeMBPer100: sxx ? (100 * sxy) / sxx : 0,
    seconds,
    lost: BURST - done,
    samples: [q(0.25), q(0.5), q(0.75), q(0.99)].map((v) => Math.round(v)),
  };
}

log(`model-only: ${N} photos, batch ${BATCH}, ${THREADS} threads…`);
const modelIps = await modelOnly();
log(`end-to-end: greenscreen run on the same ${N} photos…`);
const e2e = await endToEnd();
log(`burst: ${BURST} photos through a separate worker process…`);
const mem = BURST > 0 ? await burst() : undefined;

const ratio = e2e.imagesPerSecond / modelIps;
console.log(`pipeline figures (${N} ccp photos, batch ${BATCH}, ${THREADS} inference threads, ${availableParallelism()} cores)`);
console.log(`  model-only            ${modelIps.toFixed(2)} images/s`);
console.log(`  greenscreen run       ${e2e.imagesPerSecond.toFixed(2)} images/s (lost ${e2e.lost})`);
console.log(`  end-to-end / model    ${ratio.toFixed(3)}   (target >= 0.85)`);
if (mem) {
  console.log(`  burst of ${BURST}         ${mem.seconds.toFixed(0)} s, lost ${mem.lost}`);
  console.log(`  worker peak RSS       ${mem.peakRssMB.toFixed(0)} MB (target < 1500); at 25/50/75/99%: ${mem.samples.join(' / ')} MB`);
  console.log(`  RSS slope, 2nd half   ${mem.slopeMBPer100.toFixed(1)} MB per 100 photos (flat ~ 0)`);
}
if (values.json) {
  console.log(JSON.stringify({
    n: N, batch: BATCH, threads: THREADS, modelOnlyImagesPerSec: modelIps, endToEndImagesPerSec: e2e.imagesPerSecond,
    endToEndOverModelOnly: ratio, lost: e2e.lost + (mem?.lost ?? 0),
    ...(mem ? { burst: BURST, burstSeconds: mem.seconds, peakRssMB: mem.peakRssMB, rssSlopeMBPer100: mem.slopeMBPer100 } : {}),
  }));
}

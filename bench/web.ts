/**
 * The page's figures (issue 13), in Debian's Chromium (headless, no GPU: the WASM backend) against
 * onnxruntime-node on the same photos and CPU:
 *  - readyMs: navigation start -> model loaded and session created, cold profile;
 *  - firstLoadBytes: bytes received until then, the page's and its workers' (compressed bodies +
 *    headers, as served by `greenscreen dev`);
 *  - msPerPhotoBrowser / msPerPhotoNode: median decode + pre-process + model + post-process per photo
 *    (the first photo of each side is a warm-up, reported on its own);
 *  - maxMainThreadStallMs: the longest gap between frames while the page works (responsiveness);
 *  - iouBrowserVsNode: mean IoU of the thresholded probability maps (and the minimum, and the
 *    largest absolute probability difference);
 *  - the bundle: the page's own code, onnxruntime-web's JS, its wasm, the model (raw and gzip).
 *
 *   npm run bench:web -- [--n 20] [--json]
 *
 * The photos are the first N of the ccp test split (../shared/data/ccp). --json ends the output
 * with one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { startWebServer } from '#local/web-server';
import { createModelSession } from '#segment/model-session';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { buildWebBundle } from '#web/build';
import { launchBrowser } from '#harness/browser';
import { CCP_DIR } from '#harness/images';
import { compareProbabilities, segmentInNode, type NodeSegmentation, type Parity } from '#harness/mask-parity';

const { values } = parseArgs({ options: { n: { type: 'string' }, json: { type: 'boolean' } } });
const N = Math.max(2, Number(values.n ?? 20));
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

const split = JSON.parse(await readFile(join(CCP_DIR, 'split.json'), 'utf8')) as { test: string[] };
const photos = split.test.slice(0, N).map((id) => join(CCP_DIR, 'images', `${id}.jpg`));

const bundle = await buildWebBundle();
const sizeOf = (pred: (path: string) => boolean) => {
  const files = [...bundle.files].filter(([p]) => pred(p));
  return { bytes: files.reduce((n, [, f]) => n + f.body.length, 0), gzipBytes: files.reduce((n, [, f]) => n + gzipSync(f.body).length, 0) };
};
const sizes = {
  page: sizeOf((p) => p === 'index.html' || p === 'style.css' || p === 'app.js' || (p.startsWith('chunks/') && !p.includes('ort.'))),
  ortJs: sizeOf((p) => p.startsWith('chunks/') && p.includes('ort.')),
  wasmBackendRuntime: sizeOf((p) => p === 'ort/ort-wasm-simd-threaded.mjs' || p === 'ort/ort-wasm-simd-threaded.wasm'),
  webgpuBackendRuntime: sizeOf((p) => p.startsWith('ort/') && p.includes('asyncify')),
  model: sizeOf((p) => p.startsWith('model/')),
};
const server = await startWebServer({ bundle });
const browser = await launchBrowser();
try {
  const { page } = browser;
  await page.goto(server.url);
  await page.waitForSelector('body[data-state]', { timeout: 120_000 });
  const ready = await page.evaluate(() => {
    const g = (globalThis as unknown as { greenscreen: { state: string; error?: string; readyMs?: number; backend?: string; threads?: number } }).greenscreen;
    return { state: g.state, error: g.error, readyMs: g.readyMs, backend: g.backend, threads: g.threads };
  });
  if (ready.state !== 'ready') throw new Error(`Expected the page to load the model but it says: ${ready.error}`);
  const firstLoadBytes = await browser.bytesReceived();
  if (browser.blocked.length) throw new Error(`Expected no requests beyond 127.0.0.1 but the page tried ${browser.blocked.join(', ')}`);
  log(`page ready in ${ready.readyMs} ms (${ready.backend}, ${ready.threads} threads), ${(firstLoadBytes / 2 ** 20).toFixed(2)} MiB on the wire`);

  // The browser: all photos handed to the page at once; it works through them one by one while a
  // frame callback records the longest gap between frames (how long the page stopped responding).
  await page.evaluate(
    'globalThis.__frameGaps = [0]; { let last = performance.now(); const tick = () => { const now = performance.now(); globalThis.__frameGaps.push(now - last); last = now; requestAnimationFrame(tick); }; requestAnimationFrame(tick); }',
  );
  await page.setInputFiles('#file', photos);
  await page.waitForFunction(
    (n) => {
      const ps = (globalThis as unknown as { greenscreen: { photos: { status: string }[] } }).greenscreen.photos;
      return ps.length === n && ps.every((p) => p.status !== 'working');
    },
    photos.length,
    { timeout: 600_000 },
  );
  // Read before copying the probabilities out (that copy itself holds the page's thread).
  const maxMainThreadStallMs = (await page.evaluate('Math.round(Math.max(...globalThis.__frameGaps))')) as number;
  const inPage = await page.evaluate(() =>
    (globalThis as unknown as {
      greenscreen: { photos: { status: string; error?: { message: string }; totalMs?: number; result?: { modelMs: number; probabilities: Float32Array } }[] };
    }).greenscreen.photos.map((p) => ({
      status: p.status,
      error: p.error?.message,
      ms: p.totalMs ?? NaN,
      modelMs: p.result?.modelMs ?? NaN,
      probabilities: p.result ? Array.from(p.result.probabilities) : [],
    })),
  );
  const failed = inPage.filter((p) => p.status !== 'done');
  if (failed.length) throw new Error(`Expected every photo cut out in the page but ${failed.length} failed: ${failed[0]!.error}`);

  // Node: the worker's onnxruntime-node session with as many threads as the page had.
  const loaded = await loadModelCard(cardPathFor('tiramisu'));
  const session = await createModelSession(loaded, { provider: 'cpu', threads: ready.threads ?? 1 });
  const node: NodeSegmentation[] = [];
  for (const p of photos) node.push(await segmentInNode(await readFile(p), loaded.card, session));
  await session.release();

  const parity: Parity[] = inPage.map((b, i) => compareProbabilities(b.probabilities, node[i]!.probabilities, loaded.card.threshold));
  const warm = <T>(xs: T[]) => xs.slice(1);
  const result = {
    photos: photos.length,
    backend: ready.backend,
    threads: ready.threads,
    webgpu: ready.backend === 'webgpu' ? 'used' : 'no adapter in this Chromium (headless, --disable-gpu, no GPU): WASM',
    readyMs: ready.readyMs,
    firstLoadBytes,
    msPerPhotoBrowser: round(median(warm(inPage).map((p) => p.ms))),
    msPerPhotoNode: round(median(warm(node).map((p) => p.ms))),
    modelMsBrowser: round(median(warm(inPage).map((p) => p.modelMs))),
    modelMsNode: round(median(warm(node).map((p) => p.modelMs))),
    maxMainThreadStallMs,
    firstPhotoMsBrowser: round(inPage[0]!.ms),
    firstPhotoMsNode: round(node[0]!.ms),
    iouBrowserVsNode: round(parity.reduce((a, p) => a + p.iou, 0) / parity.length, 5),
    minIouBrowserVsNode: round(Math.min(...parity.map((p) => p.iou)), 5),
    maxAbsProbDiff: Math.max(...parity.map((p) => p.maxAbsDiff)),
    bundle: sizes,
  };
  log(
    `${photos.length} ccp test photos, median per photo (after one warm-up): browser ${result.msPerPhotoBrowser} ms ` +
      `(model ${result.modelMsBrowser}), onnxruntime-node ${result.msPerPhotoNode} ms (model ${result.modelMsNode}); ` +
      `IoU browser vs node ${result.iouBrowserVsNode} (min ${result.minIouBrowserVsNode}), max |dp| ${result.maxAbsProbDiff.toExponential(2)}`,
  );
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [k, v] of Object.entries(sizes)) log(`  ${k.padEnd(22)} ${kib(v.bytes).padStart(12)} (${kib(v.gzipBytes)} gzip)`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  await server.close();
}

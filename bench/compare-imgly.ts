/**
 * Side-by-side: our Tiramisu (through the serving path) vs @imgly/background-removal-node (ISNet),
 * on the same photos, the same CPU, in one process, interleaved photo by photo (so both see the
 * same background load).
 *
 *   npm run bench:imgly -- [--set ../shared/data/ccp] [--split test] [--limit N] [--threads 2] [--json]
 *
 * Per photo and model: the time from the JPEG's bytes to a soft mask at the photo's size (ours:
 * decode -> the segmenter (#segment/inference), as the worker and `greenscreen eval`; imgly: its
 * removeBackground with raw RGBA output, whose alpha is the mask), after one warm-up photo each
 * (which also absorbs imgly's model load), and IoU against the ground truth (scoreMask, >= 128).
 *
 * imgly is AGPL-3.0: a benchmark-only install under bench/imgly (its own package.json and lock),
 * never a dependency of greenscreen, never shipped. It is imported from there by path, so the root
 * project does not resolve it. Its model files ship inside its npm package (dist/, chunked, listed
 * in dist/resources.json); publicPath points there, so nothing is downloaded at run time.
 *
 * Threads: imgly creates its onnxruntime session with onnxruntime's defaults (intra-op = cores,
 * parallel execution mode, spinning on). Unless --imgly-ort-defaults, its session is created with
 * the same intra-op threads as ours (--threads) and 1 inter-op thread, the rest of its options
 * unchanged.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { listPairs } from '#evaluation/labelled-sets';
import { median, scoreMask } from '#evaluation/metrics';
import { decodeImage, sniffFormat } from '#segment/image';
import { createSegmenter } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';

const { values } = parseArgs({
  options: {
    set: { type: 'string' },
    split: { type: 'string' },
    limit: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
    'imgly-ort-defaults': { type: 'boolean' },
  },
});
const SET = resolve(values.set ?? join(import.meta.dirname, '../../shared/data/ccp'));
const SPLIT = values.split ?? 'test';
const LIMIT = values.limit ? Number(values.limit) : undefined;
const THREADS = Number(values.threads ?? 2);
const PATCH_THREADS = !values['imgly-ort-defaults'];
if (LIMIT !== undefined && !(Number.isInteger(LIMIT) && LIMIT > 0)) throw new Error(`Expected --limit to be a positive integer but received ${values.limit}`);
if (!(Number.isInteger(THREADS) && THREADS > 0)) throw new Error(`Expected --threads to be a positive integer but received ${values.threads}`);
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- imgly, from its benchmark-only install --------------------------------------------------
const IMGLY_DIR = join(import.meta.dirname, 'imgly');
const IMGLY_PKG = join(IMGLY_DIR, 'node_modules/@imgly/background-removal-node');
const IMGLY_MODEL = 'medium'; // its default (ConfigSchema: model default "medium", ISNet fp16, ~88 MB)

interface ImglyConfig {
  publicPath: string;
  model: 'small' | 'medium';
  output: { format: 'image/x-rgba8'; quality: number };
}
type RemoveBackground = (image: Blob, config: ImglyConfig) => Promise<Blob>;

async function loadImgly(): Promise<{ removeBackground: RemoveBackground; version: string; config: ImglyConfig }> {
  if (!existsSync(join(IMGLY_PKG, 'package.json'))) {
    throw new Error(
      `Expected @imgly/background-removal-node under ${IMGLY_PKG} but it is not installed. ` +
        `It is a benchmark-only (AGPL) install, separate from the project's: run \`cd bench/imgly && npm ci\` ` +
        `(or \`npm install --ignore-scripts\`), then run this again.`,
    );
  }
  const version = (JSON.parse(await readFile(join(IMGLY_PKG, 'package.json'), 'utf8')) as { version: string }).version;
  const dist = join(IMGLY_PKG, 'dist');
  if (!existsSync(join(dist, 'resources.json'))) {
    throw new Error(`Expected imgly's model files (dist/resources.json and its chunks) in ${dist} but they are missing: reinstall with \`cd bench/imgly && npm ci\``);
  }
  if (PATCH_THREADS) {
    // The same onnxruntime-node copy imgly imports (bench/imgly/node_modules), not ours.
    const ort = createRequire(join(IMGLY_DIR, 'package.json'))('onnxruntime-node') as {
      InferenceSession: { create: (model: unknown, options?: Record<string, unknown>) => Promise<unknown> };
    };
    const create = ort.InferenceSession.create.bind(ort.InferenceSession);
    ort.InferenceSession.create = (model, options) => {
      log(`imgly: onnxruntime session with intraOpNumThreads ${THREADS}, interOpNumThreads 1 (its other options: ${JSON.stringify(options)})`);
      return create(model, { ...options, intraOpNumThreads: THREADS, interOpNumThreads: 1 });
    };
  }
  const mod = (await import(pathToFileURL(join(dist, 'index.mjs')).href)) as { removeBackground: RemoveBackground };
  // publicPath defaults to ${cwd}/node_modules/...: point it at the package's own dist (local files only).
  const config: ImglyConfig = {
    publicPath: pathToFileURL(dist).href + '/',
    model: IMGLY_MODEL,
    output: { format: 'image/x-rgba8', quality: 0.8 },
  };
  return { removeBackground: mod.removeBackground, version, config };
}

// ---- the runs ----------------------------------------------------------------------------------
async function readTruth(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

interface Row { id: string; ms: number; iou: number; intersection: number; union: number; boundaryF: number }
interface Totals { datasetIoU: number; meanIoU: number; meanBoundaryF: number; msPerImage: number; firstMs: number }

function totals(rows: Row[], firstMs: number): Totals {
  const inter = rows.reduce((a, r) => a + r.intersection, 0);
  const union = rows.reduce((a, r) => a + r.union, 0);
  const n = Math.max(1, rows.length);
  return {
    datasetIoU: union ? inter / union : 0,
    meanIoU: rows.reduce((a, r) => a + r.iou, 0) / n,
    meanBoundaryF: rows.reduce((a, r) => a + r.boundaryF, 0) / n,
    msPerImage: median(rows.map((r) => r.ms)),
    firstMs,
  };
}

let pairs = await listPairs(SET, SPLIT);
if (LIMIT) pairs = pairs.slice(0, LIMIT);
const ids = pairs.map((p) => p.id);
if (!ids.length) throw new Error(`Expected photos in ${SET} (split ${SPLIT}) but found none`);

const tLoad0 = performance.now();
const loaded = await loadModelCard(cardPathFor('tiramisu'));
const segmenter = await createSegmenter(loaded, { provider: 'cpu', threads: THREADS });
const { session } = segmenter;
const oursLoadMs = performance.now() - tLoad0;
const ours = async (bytes: Buffer): Promise<{ mask: Buffer; width: number; height: number }> => {
  const img = await decodeImage(bytes, { maxPixels: 1e8 });
  return { mask: (await segmenter.segment(img)).mask, width: img.width, height: img.height };
};

const imgly = await loadImgly();
const theirs = async (bytes: Buffer): Promise<{ mask: Buffer; width: number; height: number }> => {
  const type = `image/${sniffFormat(bytes) ?? 'jpeg'}`;
  const out = await imgly.removeBackground(new Blob([bytes], { type }), imgly.config);
  const params = Object.fromEntries(out.type.split(';').slice(1).map((p) => p.split('=').map((s) => s.trim()) as [string, string]));
  const width = Number(params.width), height = Number(params.height);
  const rgba = new Uint8Array(await out.arrayBuffer());
  if (!width || !height || rgba.length !== width * height * 4) {
    throw new Error(`Expected imgly to return raw RGBA with its size in the type but received ${JSON.stringify(out.type)} and ${rgba.length} bytes`);
  }
  const mask = Buffer.allocUnsafe(width * height);
  for (let i = 0, j = 3; i < mask.length; i++, j += 4) mask[i] = rgba[j]!;
  return { mask, width, height };
};

const models = [
  { key: 'ours' as const, name: `${loaded.card.name}@${loaded.card.version} (${session.provider}, ${THREADS} threads)`, run: ours },
  {
    key: 'imgly' as const,
    name: `imgly ${imgly.version} ISNet "${IMGLY_MODEL}" (cpu, ${PATCH_THREADS ? `${THREADS} threads` : 'ort default threads'})`,
    run: theirs,
  },
];
const rows: Record<'ours' | 'imgly', Row[]> = { ours: [], imgly: [] };
const first: Record<'ours' | 'imgly', number> = { ours: 0, imgly: 0 };

// Warm-up on the first photo (untimed in the medians; imgly loads its model here).
{
  const bytes = await readFile(pairs[0]!.image);
  for (const m of models) {
    const t0 = performance.now();
    await m.run(bytes);
    first[m.key] = performance.now() - t0;
  }
}
log(`warm-up (${ids[0]}): ours ${first.ours.toFixed(0)} ms (+ ${oursLoadMs.toFixed(0)} ms load before), imgly ${first.imgly.toFixed(0)} ms (incl. its model load)`);

for (const [i, { id, image, mask }] of pairs.entries()) {
  const bytes = await readFile(image);
  const truth = await readTruth(mask);
  const line: string[] = [];
  for (const m of models) {
    const t0 = performance.now();
    const out = await m.run(bytes);
    const ms = performance.now() - t0;
    if (out.width !== truth.width || out.height !== truth.height) {
      throw new Error(`Expected ${m.key}'s mask for ${id} to be ${truth.width}x${truth.height} (the ground truth's) but it is ${out.width}x${out.height}`);
    }
    const s = scoreMask(out.mask, truth.data, truth.width, truth.height);
    rows[m.key].push({ id, ms, iou: s.iou, intersection: s.intersection, union: s.union, boundaryF: s.boundaryF });
    line.push(`${m.key} ${ms.toFixed(0).padStart(5)} ms IoU ${s.iou.toFixed(3)}`);
  }
  log(`[${i + 1}/${ids.length}] ${id}  ${line.join('   ')}`);
}
await segmenter.release();

const o = totals(rows.ours, first.ours);
const t = totals(rows.imgly, first.imgly);
const speedRatio = t.msPerImage / o.msPerImage;
const gap = o.datasetIoU - t.datasetIoU;

const header = ['model', 'dataset IoU', 'mean IoU', 'boundary F', 'median ms/image'];
const table = [
  header,
  ...models.map((m) => {
    const s = m.key === 'ours' ? o : t;
    return [m.name, s.datasetIoU.toFixed(4), s.meanIoU.toFixed(4), s.meanBoundaryF.toFixed(4), s.msPerImage.toFixed(0)];
  }),
];
const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
console.log(`${ids.length} photos from ${SET} (split ${SPLIT}), one process, interleaved; medians after one warm-up photo each`);
for (const r of table) console.log(r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '));
console.log(`speed ratio (imgly ms / ours ms): ${speedRatio.toFixed(1)}x    dataset IoU gap (ours - imgly): ${gap >= 0 ? '+' : ''}${gap.toFixed(4)}`);
if (values.json) {
  const pick = (s: Totals) => ({ datasetIoU: s.datasetIoU, meanIoU: s.meanIoU, msPerImage: s.msPerImage, meanBoundaryF: s.meanBoundaryF });
  console.log(
    JSON.stringify({
      n: ids.length,
      split: SPLIT,
      threads: THREADS,
      ours: { model: models[0]!.name, ...pick(o) },
      imgly: { model: models[1]!.name, ...pick(t) },
      speedRatio,
      datasetIoUGap: gap,
    }),
  );
}

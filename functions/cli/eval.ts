/**
 * `greenscreen eval <setDir>`: quality and speed of the shipped model through the serving code
 * path (decode -> preprocess -> ONNX -> upsample, the worker's own modules).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '#segment/image';
import { InferenceBatcher, maskAtOriginal, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { createModelSession, type ExecutionProviderChoice } from '#segment/model';
import { contactSheet } from './contact-sheet.ts';
import { median, scoreMask } from './metrics.ts';

export interface EvalOptions {
  setDir: string;
  split?: string;
  limit?: number;
  threads: number;
  provider: ExecutionProviderChoice;
  modelCard?: string;
  outDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalSummary {
  n: number;
  meanIoU: number;
  datasetIoU: number;
  mae: number;
  boundaryF: number;
  msPerImage: number;
  modelMsPerImage: number;
  model: string;
  provider: string;
  perImage: { id: string; iou: number; ms: number }[];
  worstSheet?: string;
}

export async function listPairs(setDir: string, split?: string): Promise<string[]> {
  const splitFile = join(setDir, 'split.json');
  if (split) {
    if (!existsSync(splitFile)) throw new Error(`Expected ${splitFile} for --split ${split} but it does not exist`);
    const splits = JSON.parse(await readFile(splitFile, 'utf8')) as Record<string, string[]>;
    const ids = splits[split];
    if (!ids) throw new Error(`Expected a split in [${Object.keys(splits).join(', ')}] but received ${JSON.stringify(split)}`);
    return [...ids].sort();
  }
  const files = await readdir(join(setDir, 'images'));
  return files
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .map((f) => basename(f, extname(f)))
    .filter((id) => existsSync(join(setDir, 'masks', `${id}.png`)))
    .sort();
}

async function readTruth(path: string, width: number, height: number): Promise<Buffer> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) {
    throw new Error(`Expected mask ${path} to be ${width}x${height} (like its photo) but it is ${info.width}x${info.height}`);
  }
  return data;
}

export async function runEval(options: EvalOptions): Promise<EvalSummary> {
  const loaded = await loadModelCard(options.modelCard ?? cardPathFor('tiramisu'));
  const session = await createModelSession(loaded, { provider: options.provider, threads: options.threads });
  const batcher = new InferenceBatcher(session, loaded.card, 1);
  let ids = await listPairs(options.setDir, options.split);
  if (options.limit) ids = ids.slice(0, options.limit);
  const perImage: EvalSummary['perImage'] = [];
  const preds = new Map<string, Buffer>();
  let inter = 0, union = 0, mae = 0, bf = 0;
  // Warm-up run so the first image's time is not the session's first-run cost.
  if (ids.length) {
    const img = await decodeImage(await readFile(join(options.setDir, 'images', `${ids[0]}.jpg`)), { maxPixels: 1e8 });
    await batcher.infer(await preprocess(img, loaded.card));
  }
  const modelMsBefore = batcher.stats.modelMs;
  for (const [i, id] of ids.entries()) {
    const bytes = await readFile(join(options.setDir, 'images', `${id}.jpg`));
    const t0 = performance.now();
    const img = await decodeImage(bytes, { maxPixels: 1e8 });
    const pre = await preprocess(img, loaded.card);
    const prob = await batcher.infer(pre);
    const mask = await maskAtOriginal(prob, pre.plan, img.width, img.height);
    const ms = performance.now() - t0;
    const truth = await readTruth(join(options.setDir, 'masks', `${id}.png`), img.width, img.height);
    const s = scoreMask(mask, truth, img.width, img.height);
    inter += s.intersection;
    union += s.union;
    mae += s.mae;
    bf += s.boundaryF;
    perImage.push({ id, iou: s.iou, ms });
    preds.set(id, await sharp(mask, { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
    options.onProgress?.(i + 1, ids.length);
  }
  await session.release();
  const n = perImage.length;
  const summary: EvalSummary = {
    n,
    meanIoU: perImage.reduce((a, p) => a + p.iou, 0) / Math.max(1, n),
    datasetIoU: union ? inter / union : 0,
    mae: mae / Math.max(1, n),
    boundaryF: bf / Math.max(1, n),
    msPerImage: median(perImage.map((p) => p.ms)),
    modelMsPerImage: (batcher.stats.modelMs - modelMsBefore) / Math.max(1, n),
    model: `${loaded.card.name}@${loaded.card.version}`,
    provider: session.provider,
    perImage,
  };
  if (options.outDir && n) {
    await mkdir(options.outDir, { recursive: true });
    const worst = [...perImage].sort((a, b) => a.iou - b.iou).slice(0, 12);
    const rows = await Promise.all(
      worst.map(async (w) => ({
        label: `${w.id}  IoU ${w.iou.toFixed(3)}   (photo | truth | prediction)`,
        cells: [
          await readFile(join(options.setDir, 'images', `${w.id}.jpg`)),
          await readFile(join(options.setDir, 'masks', `${w.id}.png`)),
          preds.get(w.id)!,
        ],
      })),
    );
    summary.worstSheet = join(options.outDir, 'eval-worst.jpg');
    await writeFile(summary.worstSheet, await contactSheet(rows));
  }
  return summary;
}

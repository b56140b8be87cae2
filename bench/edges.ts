/**
 * Edges at the photo's ORIGINAL resolution, before/after: plain bilinear upsampling of the model's
 * map (what the worker did) vs guided upsampling (functions/segment/mask-upsampling.ts) and the haze curve,
 * scored against the hand-drawn masks at the photo's size: dataset IoU (Σ∩/Σ∪), MAE of the soft
 * mask, boundary F (functions/evaluation/metrics.ts). Settings are chosen on training photos only (every
 * 10th of ccp/train and of pfcn/train) and reported on ccp/test and pfcn/val. Cost: median ms of
 * each upsampling at 0.5 MP and 12 MP.
 *
 *   npm run bench:edges -- [--json] [--limit N] [--cost-only] [--haze-only]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { scoreMask } from '#evaluation/metrics';
import type { EdgeSettings, HazeCurve } from '#segmenter/mask-curve';
import { guidedUpsample, upsampleWithCurve } from '#segment/mask-upsampling';
import { decodeImage } from '#segment/image';
import { createSegmenter, maskAtOriginal, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';

const DATA = join(import.meta.dirname, '../../shared/data');
const args = process.argv.slice(2);
const json = args.includes('--json');
const limitAt = args.indexOf('--limit');
const LIMIT = limitAt >= 0 ? Number(args[limitAt + 1]) : Infinity;
const COST_ONLY = args.includes('--cost-only');

interface Variant {
  name: string;
  guided?: EdgeSettings;
  haze?: HazeCurve;
}

async function split(set: string, name: string): Promise<string[]> {
  return (JSON.parse(await readFile(join(DATA, set, 'split.json'), 'utf8')) as Record<string, string[]>)[name]!;
}

const segmenter = await createSegmenter(await loadModelCard(cardPathFor('tiramisu')), { provider: 'cpu', threads: 1 });

interface Sample {
  photo: { rgb: Buffer; width: number; height: number };
  prob: Buffer;
  small: { width: number; height: number };
  truth: Buffer;
}

async function load(set: string, ids: string[]): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const id of ids.slice(0, LIMIT)) {
    const photo = await decodeImage(await readFile(join(DATA, set, 'images', `${id}.jpg`)), { maxPixels: 4e7 });
    const pre = await preprocess(photo, segmenter.card);
    const prob = await segmenter.batcher.infer(pre);
    const truth = await sharp(join(DATA, set, 'masks', `${id}.png`)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    if (truth.info.width !== photo.width || truth.info.height !== photo.height) throw new Error(`${set}/${id}: mask ${truth.info.width}x${truth.info.height} vs photo ${photo.width}x${photo.height}`);
    out.push({ photo: { rgb: photo.rgb, width: photo.width, height: photo.height }, prob, small: { width: pre.plan.width, height: pre.plan.height }, truth: truth.data });
  }
  return out;
}

async function maskFor(s: Sample, v: Variant): Promise<Buffer> {
  if (v.guided) return guidedUpsample(s.prob, s.small, s.photo, v.guided, v.haze);
  if (v.haze) return upsampleWithCurve(s.prob, s.small, s.photo.width, s.photo.height, v.haze); // as served
  return maskAtOriginal(s.prob, { ...s.small, paddedWidth: s.small.width, paddedHeight: s.small.height }, s.photo.width, s.photo.height);
}

async function score(samples: Sample[], v: Variant) {
  let inter = 0, union = 0, mae = 0, bf = 0;
  for (const s of samples) {
    const r = scoreMask(await maskFor(s, v), s.truth, s.photo.width, s.photo.height);
    inter += r.intersection;
    union += r.union;
    mae += r.mae;
    bf += r.boundaryF;
  }
  return { datasetIoU: inter / union, mae: mae / samples.length, boundaryF: bf / samples.length };
}

const BASE: Variant = { name: 'bilinear (before)' };
const candidates: Variant[] = [BASE];
// Curves that only cut the haze (hi = 1) next to ones that also push the mid-range apart.
for (const haze of [{ lo: 0.1, hi: 0.9 }, { lo: 0.2, hi: 0.8 }, { lo: 0.25, hi: 0.95 }, { lo: 0.1, hi: 1 }, { lo: 0.2, hi: 1 }]) candidates.push({ name: `haze ${haze.lo}-${haze.hi}`, haze });
const HAZE_ONLY = args.includes('--haze-only');
for (const radius of HAZE_ONLY ? [] : [2, 4, 8]) {
  for (const eps of [1e-3, 1e-2]) {
    candidates.push({ name: `guided r${radius} eps${eps}`, guided: { radius, eps } });
    for (const haze of [{ lo: 0.1, hi: 0.9 }, { lo: 0.2, hi: 0.8 }]) candidates.push({ name: `guided r${radius} eps${eps} + haze ${haze.lo}-${haze.hi}`, guided: { radius, eps }, haze });
  }
}

const report: Record<string, unknown> = {};
let chosen: Variant[];
if (COST_ONLY) {
  chosen = [BASE, { name: 'haze 0.2-0.8', haze: { lo: 0.2, hi: 0.8 } }, { name: 'guided r4 eps0.001 + haze 0.2-0.8', guided: { radius: 4, eps: 1e-3 }, haze: { lo: 0.2, hi: 0.8 } }];
} else {
  const every10 = (ids: string[]) => ids.filter((_, i) => i % 10 === 0);
  const tune = [...(await load('ccp', every10(await split('ccp', 'train')))), ...(await load('pfcn', every10(await split('pfcn', 'train'))))];
  process.stdout.write(`tuning on ${tune.length} training photos (every 10th of ccp/train and pfcn/train)\n`);
  const tuned: { v: Variant; s: Awaited<ReturnType<typeof score>> }[] = [];
  for (const v of candidates) {
    const s = await score(tune, v);
    tuned.push({ v, s });
    process.stdout.write(`  ${v.name.padEnd(40)} IoU ${s.datasetIoU.toFixed(4)}  MAE ${s.mae.toFixed(4)}  bF ${s.boundaryF.toFixed(4)}\n`);
  }
  // Best by boundary F, then MAE; it must not lose IoU.
  const base = tuned[0]!.s;
  const pick = (filter: (v: Variant) => boolean) =>
    tuned.filter((t) => filter(t.v) && t.s.datasetIoU >= base.datasetIoU - 0.002).sort((x, y) => y.s.boundaryF - x.s.boundaryF || x.s.mae - y.s.mae)[0]!.v;
  chosen = HAZE_ONLY
    ? [BASE, ...tuned.filter((t) => t.v.haze && !t.v.guided).map((t) => t.v)]
    : [BASE, pick((v) => !v.guided && !!v.haze), pick((v) => !!v.guided && !v.haze), pick((v) => !!v.guided && !!v.haze)];
  process.stdout.write(`chosen on training photos: ${chosen.slice(1).map((v) => v.name).join('; ')}\n\n`);

  report.chosen = chosen.map((v) => v.name);
  report.sets = {};
  for (const [set, name] of [['ccp', 'test'], ['pfcn', 'val']] as const) {
    const samples = await load(set, await split(set, name));
    const rows: Record<string, unknown> = {};
    process.stdout.write(`${set}/${name} (${samples.length} photos, original resolution)\n`);
    for (const v of chosen) {
      const s = await score(samples, v);
      rows[v.name] = s;
      process.stdout.write(`  ${v.name.padEnd(40)} dataset IoU ${s.datasetIoU.toFixed(4)}  MAE ${s.mae.toFixed(4)}  boundary F ${s.boundaryF.toFixed(4)}\n`);
    }
    (report.sets as Record<string, unknown>)[`${set}/${name}`] = rows;
  }

}

// Cost: the upsampling step alone, medians, at 0.5 MP (a ccp photo) and 12 MP (the same, enlarged).
const one = (await load('ccp', ['0801']))[0]!;
const big = { width: 2832, height: 4233 };
const bigSample: Sample = {
  ...one,
  photo: { rgb: await sharp(one.photo.rgb, { raw: { width: one.photo.width, height: one.photo.height, channels: 3 } }).resize(big.width, big.height).raw().toBuffer(), ...big },
};
const cost: Record<string, Record<string, number>> = {};
for (const v of chosen) {
  cost[v.name] = {};
  for (const [label, s, runs] of [['0.5MP', one, 9], ['12MP', bigSample, 5]] as const) {
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await maskFor(s, v);
      t.push(performance.now() - t0);
    }
    cost[v.name]![label] = Math.round([...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]! * 10) / 10;
  }
  process.stdout.write(`cost ${v.name.padEnd(40)} 0.5 MP ${cost[v.name]!['0.5MP']} ms   12 MP ${cost[v.name]!['12MP']} ms\n`);
}
report.costMs = cost;
await segmenter.release();
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);

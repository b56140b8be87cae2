/**
 * Training resizes with Pillow (models/datasets.py: Image.BILINEAR); serving resizes with
 * #segmenter/segmentation's resizeBilinear (Pillow, bit for bit); until 2026-12-01 serving used sharp's
 * `resize(kernel: 'linear')`. This prints how far each is from Pillow, what sharp's resize did to
 * the shipped model's probabilities on real photos, and what the exact resize costs.
 *
 *   npx tsx bench/resize-parity.ts [--photos 20] [--json] [set:split ...]   (default ../shared/data/ccp:test ../shared/data/pfcn:val)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { assembleBatch, planInput, resizeBilinear, toTensor, type InputPlan, type Pixels } from '#segmenter/segmentation';
import { listPairs, parseSetArg } from '#evaluation/labelled-sets';
import { median } from '#evaluation/metrics';
import { decodeImage } from '#segment/image';
import { createSegmenter } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';

const { values, positionals } = parseArgs({ options: { photos: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true });
const PHOTOS = Number(values.photos ?? 20);
const DATA = join(import.meta.dirname, '../../shared/data');
const SETS = (positionals.length ? positionals : [join(DATA, 'ccp:test'), join(DATA, 'pfcn:val')]).map((a) => parseSetArg(a));
const FIXTURES = join(import.meta.dirname, '../test/fixtures/resize');

const sharpLinear = async (p: Pixels, to: { width: number; height: number }): Promise<Pixels> => ({
  data: new Uint8Array(await sharp(p.data, { raw: { width: p.width, height: p.height, channels: 3 } }).resize(to.width, to.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer()),
  ...to,
  channels: 3,
});
const pixelsOf = async (file: string): Promise<Pixels> => {
  const { data, info } = await sharp(join(FIXTURES, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
};
const diff = (a: Uint8Array, b: Uint8Array) => {
  let max = 0, sum = 0, over1 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sum += d;
    if (d > 1) over1++;
  }
  return { max, mean: sum / a.length, over1: over1 / a.length };
};

// 1. Pixels, against Pillow's own output for the fixture (models/make_resize_fixture.py).
const meta = JSON.parse(await readFile(join(FIXTURES, 'meta.json'), 'utf8')) as { pillow: string; cases: { source: string; width: number; height: number; expected: string }[] };
const pixels = [];
for (const c of meta.cases) {
  const src = await pixelsOf(c.source);
  const pil = await pixelsOf(c.expected);
  pixels.push({
    case: `${c.source} ${src.width}x${src.height} -> ${c.width}x${c.height}`,
    ours: diff(resizeBilinear(src, c).data, pil.data),
    sharpLinear: diff((await sharpLinear(src, c)).data, pil.data),
  });
}

// 2. Probabilities of the shipped model on real photos: sharp-resized input vs Pillow-exact input.
const loaded = await loadModelCard(cardPathFor('tiramisu'));
const segmenter = await createSegmenter(loaded, { provider: 'cpu', threads: 2 });
const probs = async (small: Pixels, plan: InputPlan) => {
  const b = assembleBatch([{ plan, tensor: toTensor(small, plan, loaded.card) }], loaded.card.input.padValue);
  return segmenter.session.run(b.data, b.dims);
};
const photos = [];
for (const set of SETS) {
  const pairs = (await listPairs(set.dir, set.split)).slice(0, PHOTOS);
  let maxDp = 0, sumDp = 0, n = 0, flips = 0, px = 0;
  for (const pair of pairs) {
    const img = await decodeImage(await readFile(pair.image), { maxPixels: 1e8 });
    const src = { data: img.rgb, width: img.width, height: img.height, channels: 3 };
    const plan = planInput(img.width, img.height, loaded.card);
    const [a, b] = [await probs(resizeBilinear(src, plan), plan), await probs(await sharpLinear(src, plan), plan)];
    for (let y = 0; y < plan.height; y++) {
      for (let x = 0; x < plan.width; x++) {
        const i = y * plan.paddedWidth + x;
        const d = Math.abs(a[i]! - b[i]!);
        maxDp = Math.max(maxDp, d);
        sumDp += d;
        if (a[i]! >= 0.5 !== b[i]! >= 0.5) flips++;
        px++;
      }
    }
    n++;
  }
  photos.push({ set: set.name, photos: n, maxAbsProbDiff: maxDp, meanAbsProbDiff: sumDp / px, maskPixelsFlipped: flips / px });
}
await segmenter.release();

// 3. Cost on a 12 MP photo (4000x3000 -> 320x240), medians of 5.
const big: Pixels = { data: new Uint8Array(4000 * 3000 * 3).map((_, i) => (i * 2654435761) >>> 24), width: 4000, height: 3000, channels: 3 };
const time = async (f: () => unknown) => {
  const ms = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return median(ms);
};
const cost = { oursMs12MP: await time(() => resizeBilinear(big, { width: 320, height: 240 })), sharpMs12MP: await time(() => sharpLinear(big, { width: 320, height: 240 })) };

console.log(`pixels vs Pillow ${meta.pillow} (fixture):`);
for (const p of pixels) {
  const f = (d: ReturnType<typeof diff>) => `max ${d.max}, mean ${d.mean.toFixed(3)}, >1 level ${(100 * d.over1).toFixed(1)}%`;
  console.log(`  ${p.case.padEnd(32)} #segmenter/segmentation: ${f(p.ours)}   sharp linear: ${f(p.sharpLinear)}`);
}
console.log('shipped model, sharp-linear input vs Pillow-exact input:');
for (const p of photos) {
  console.log(`  ${p.set.padEnd(14)} ${p.photos} photos: max |dp| ${p.maxAbsProbDiff.toFixed(3)}, mean |dp| ${p.meanAbsProbDiff.toFixed(4)}, mask pixels flipped ${(100 * p.maskPixelsFlipped).toFixed(2)}%`);
}
console.log(`12 MP -> 320x240: #segmenter/segmentation ${cost.oursMs12MP.toFixed(0)} ms, sharp ${cost.sharpMs12MP.toFixed(0)} ms (median of 5)`);
if (values.json) console.log(JSON.stringify({ pillow: meta.pillow, pixels, photos, ...cost }));

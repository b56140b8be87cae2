/**
 * The model's own evidence that a photo has a person in it, on person-free photos and on photos of
 * people: the fraction of the model's map at >= 0.5 (area) and the mean probability of those pixels
 * (confidence), at the model's input size. Prints per-set percentiles and, for the rule in
 * functions/segmenter/subject.ts, how many photos of each set it calls "none".
 *
 *   npx tsx bench/subject.ts [--json]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '#segment/image';
import { createSegmenter, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { subjectEvidence, decideSubject } from '#segmenter/subject';

const DATA = join(import.meta.dirname, '../../shared/data');

async function ids(set: string, split?: string): Promise<string[]> {
  if (split) return (JSON.parse(await readFile(join(DATA, set, 'split.json'), 'utf8')) as Record<string, string[]>)[split]!;
  return (await readdir(join(DATA, set, 'images'))).filter((f) => f.endsWith('.jpg')).map((f) => f.slice(0, -4));
}

async function emptyCamvid(): Promise<{ empty: string[]; people: string[] }> {
  const sharp = (await import('sharp')).default;
  const all = await ids('camvid');
  const empty: string[] = [];
  const people: string[] = [];
  for (const id of all) {
    const { data } = await sharp(join(DATA, 'camvid/masks', `${id}.png`)).greyscale().raw().toBuffer({ resolveWithObject: true });
    (data.some((v) => v > 0) ? people : empty).push(id);
  }
  return { empty, people };
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]!;
};

const segmenter = await createSegmenter(await loadModelCard(cardPathFor('tiramisu')), { provider: 'cpu', threads: 1 });
const cam = await emptyCamvid();
const sets: { name: string; set: string; ids: string[]; person: boolean }[] = [
  { name: 'backgrounds (no person)', set: 'backgrounds', ids: await ids('backgrounds'), person: false },
  { name: 'camvid empty frames (no person)', set: 'camvid', ids: cam.empty, person: false },
  { name: 'ccp/test', set: 'ccp', ids: await ids('ccp', 'test'), person: true },
  { name: 'pfcn/val', set: 'pfcn', ids: await ids('pfcn', 'val'), person: true },
  { name: 'pennfudan/val', set: 'pennfudan', ids: await ids('pennfudan', 'val'), person: true },
  { name: 'camvid frames with people', set: 'camvid', ids: cam.people, person: true },
];
const report: Record<string, unknown> = {};
for (const s of sets) {
  const areas: number[] = [];
  const confs: number[] = [];
  let none = 0;
  for (const id of s.ids) {
    const img = await decodeImage(await readFile(join(DATA, s.set, 'images', `${id}.jpg`)), { maxPixels: 40_000_000 });
    const pre = await preprocess(img, segmenter.card);
    const prob = await segmenter.batcher.infer(pre);
    const e = subjectEvidence(prob);
    areas.push(e.area);
    confs.push(e.confidence);
    if (decideSubject(e) === 'none') none++;
  }
  const row = {
    n: s.ids.length,
    person: s.person,
    area: { p05: q(areas, 0.05), p50: q(areas, 0.5), p95: q(areas, 0.95), max: q(areas, 1) },
    confidence: { p05: q(confs, 0.05), p50: q(confs, 0.5), p95: q(confs, 0.95) },
    calledNone: none,
  };
  report[s.name] = row;
  process.stdout.write(
    `${s.name.padEnd(34)} n=${String(row.n).padStart(3)}  area p05/p50/p95/max ${[row.area.p05, row.area.p50, row.area.p95, row.area.max].map((x) => x.toFixed(4)).join(' / ')}` +
      `  conf p05/p50/p95 ${[row.confidence.p05, row.confidence.p50, row.confidence.p95].map((x) => x.toFixed(3)).join(' / ')}  called none: ${none}\n`,
  );
}
await segmenter.release();
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(report)}\n`);

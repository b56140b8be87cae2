/**
 * The model's own evidence that a photo has a person in it, on person-free photos and on photos of
 * people: the fraction of the model's map at >= 0.5 (area) and the mean probability of those pixels
 * (confidence), at the model's input size. Prints per-set percentiles and how many photos of each
 * set the card's subject rule (functions/segmenter/subject.ts) calls "none".
 *
 *   npm run bench:subject -- [--model-card models/tiramisu.card.json] [--calibrate [--write]] [--json]
 *
 * --calibrate searches the rule (maxArea x minConfidence) that calls the most person-free photos
 * "none" while calling at most 1 % of the people photos "none" (and no set of them over 2 %), and
 * prints both rules side by side; --write puts it into the card as `subject`. It exits 1, writing
 * nothing, when no rule can.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '#segment/image';
import { createSegmenter, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { DEFAULT_SUBJECT_RULE, decideSubject, subjectEvidence, type SubjectEvidence, type SubjectRule } from '#segmenter/subject';

const { values } = parseArgs({
  options: {
    'model-card': { type: 'string' },
    calibrate: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
if (values.write && !values.calibrate) throw new Error('Expected --write only with --calibrate (it writes the calibrated rule)');
const DATA = join(import.meta.dirname, '../../shared/data');
const cardPath = values['model-card'] ?? cardPathFor('tiramisu');

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

const loaded = await loadModelCard(cardPath);
const card = loaded.card;
const cardRule = card.subject ?? DEFAULT_SUBJECT_RULE;
const segmenter = await createSegmenter(loaded, { provider: 'cpu', threads: 1 });
const cam = await emptyCamvid();
const sets: { name: string; set: string; ids: string[]; person: boolean }[] = [
  { name: 'backgrounds (no person)', set: 'backgrounds', ids: await ids('backgrounds'), person: false },
  { name: 'camvid empty frames (no person)', set: 'camvid', ids: cam.empty, person: false },
  { name: 'ccp/test', set: 'ccp', ids: await ids('ccp', 'test'), person: true },
  { name: 'pfcn/val', set: 'pfcn', ids: await ids('pfcn', 'val'), person: true },
  { name: 'pennfudan/val', set: 'pennfudan', ids: await ids('pennfudan', 'val'), person: true },
  { name: 'camvid frames with people', set: 'camvid', ids: cam.people, person: true },
];
const evidence = new Map<string, SubjectEvidence[]>();
const report: Record<string, unknown> = {};
process.stdout.write(`${card.name}@${card.version} (${cardPath}); its rule: ${JSON.stringify(cardRule)}${card.subject ? '' : ' (the default)'}\n`);
for (const s of sets) {
  const found: SubjectEvidence[] = [];
  for (const id of s.ids) {
    const img = await decodeImage(await readFile(join(DATA, s.set, 'images', `${id}.jpg`)), { maxPixels: 40_000_000 });
    const pre = await preprocess(img, segmenter.card);
    found.push(subjectEvidence(await segmenter.batcher.infer(pre)));
  }
  evidence.set(s.name, found);
  const areas = found.map((e) => e.area);
  const confs = found.map((e) => e.confidence);
  const none = found.filter((e) => decideSubject(e, cardRule) === 'none').length;
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

/** Per set: how many photos a rule calls "none". */
const calledNone = (rule: SubjectRule) => new Map(sets.map((s) => [s.name, evidence.get(s.name)!.filter((e) => decideSubject(e, rule) === 'none').length]));

/**
 * The rule that calls the most person-free photos "none" while calling at most 1 % of all the
 * people photos "none", and no set of them more than 2 % (at least 1 photo); ties: the milder rule.
 * Undefined when no rule can (a model whose map is empty on too many people photos).
 */
function calibrate(): SubjectRule | undefined {
  const people = sets.filter((s) => s.person);
  const allowed = Math.floor(0.01 * people.reduce((n, s) => n + s.ids.length, 0));
  const areas = [0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05];
  const confidences = Array.from({ length: 50 }, (_, i) => Math.round((0.5 + i * 0.01) * 100) / 100);
  let best: { rule: SubjectRule; caught: number } | undefined;
  for (const maxArea of areas) {
    for (const minConfidence of confidences) {
      const rule = { maxArea, minConfidence };
      const none = calledNone(rule);
      if (people.reduce((n, s) => n + none.get(s.name)!, 0) > allowed) continue;
      if (people.some((s) => none.get(s.name)! > Math.max(1, Math.floor(0.02 * s.ids.length)))) continue;
      const caught = sets.filter((s) => !s.person).reduce((n, s) => n + none.get(s.name)!, 0);
      if (!best || caught > best.caught) best = { rule, caught };
    }
  }
  return best?.rule;
}

const calibrated = values.calibrate ? calibrate() : undefined;
if (values.calibrate && !calibrated) {
  const empty = calledNone({ maxArea: 0, minConfidence: 0 });
  process.stdout.write(
    `\nno rule calls at most 1 % of the people photos "none": the model's map is empty on ${sets.filter((s) => s.person).map((s) => `${empty.get(s.name)} of ${s.ids.length} ${s.name}`).join(', ')}\n`,
  );
  process.exitCode = 1;
}
if (calibrated) {
  const rule = calibrated;
  const [before, after] = [calledNone(cardRule), calledNone(rule)];
  process.stdout.write(`\ncalibrated rule: ${JSON.stringify(rule)}\n${'set'.padEnd(34)}${'card rule'.padStart(12)}${'calibrated'.padStart(12)}\n`);
  for (const s of sets) {
    const pct = (n: number) => `${n} (${((100 * n) / s.ids.length).toFixed(1)}%)`;
    process.stdout.write(`${s.name.padEnd(34)}${pct(before.get(s.name)!).padStart(12)}${pct(after.get(s.name)!).padStart(12)}\n`);
  }
  const free = sets.filter((s) => !s.person);
  const freeShare = free.reduce((n, s) => n + after.get(s.name)!, 0) / free.reduce((n, s) => n + s.ids.length, 0);
  process.stdout.write(`person-free photos called none: ${(100 * freeShare).toFixed(1)}% (target >= 90%)\n`);
  report.calibrated = { rule, personFreeNone: freeShare, calledNone: Object.fromEntries(after) };
  if (values.write) {
    const raw = JSON.parse(await readFile(cardPath, 'utf8')) as Record<string, unknown>;
    raw.subject = rule;
    await writeFile(cardPath, `${JSON.stringify(raw, null, 2)}\n`);
    process.stdout.write(`wrote the rule into ${cardPath} (subject)\n`);
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);

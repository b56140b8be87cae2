import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { listPairs, parseSetArg } from '#evaluation/labelled-sets';
import { evalCli, formatReport, reportJson, runEval, setScores } from '#cli/eval';
import { cardPathFor } from '#segment/model-card';

const W = 48, H = 64;
let root: string;

/** A labelled set on disk: a photo per id (.jpg or .png), a mask, optional ignore mask, split.json. */
async function makeSet(name: string, items: { id: string; ext: 'jpg' | 'png'; ignoreAll?: boolean }[], splits: Record<string, string[]>) {
  const dir = join(root, name);
  for (const sub of ['images', 'masks', 'ignore']) await mkdir(join(dir, sub), { recursive: true });
  const photo = sharp({ create: { width: W, height: H, channels: 3, background: '#5a8' } });
  const half = Buffer.alloc(W * H);
  half.fill(255, 0, (W * H) / 2);
  for (const it of items) {
    await writeFile(join(dir, 'images', `${it.id}.${it.ext}`), it.ext === 'png' ? await photo.clone().png().toBuffer() : await photo.clone().jpeg().toBuffer());
    await writeFile(join(dir, 'masks', `${it.id}.png`), await sharp(half, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer());
    if (it.ignoreAll) await writeFile(join(dir, 'ignore', `${it.id}.png`), await sharp(Buffer.alloc(W * H, 255), { raw: { width: W, height: H, channels: 1 } }).png().toBuffer());
  }
  await writeFile(join(dir, 'split.json'), JSON.stringify(splits));
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gs-eval-'));
  await makeSet('mixed', [{ id: 'a', ext: 'png' }, { id: 'b', ext: 'jpg' }, { id: 'c', ext: 'png' }], { val: ['c', 'a'], train: ['b'] });
  await makeSet('unknown', [{ id: 'x', ext: 'jpg', ignoreAll: true }, { id: 'y', ext: 'png', ignoreAll: true }], { val: ['x', 'y'] });
});

describe('parseSetArg', () => {
  it.each([
    ['../shared/data/pfcn:val', undefined, { dir: '../shared/data/pfcn', split: 'val', name: 'pfcn/val' }],
    ['../shared/data/ccp', 'test', { dir: '../shared/data/ccp', split: 'test', name: 'ccp/test' }],
    ['../shared/data/ccp:test', 'val', { dir: '../shared/data/ccp', split: 'test', name: 'ccp/test' }],
    ['sets/camvid', undefined, { dir: 'sets/camvid', name: 'camvid/all' }],
  ])('%s (default split %s)', (arg, split, expected) => {
    expect(parseSetArg(arg, split)).toEqual(expected);
  });
});

describe('listPairs', () => {
  it('finds each id\'s photo whatever its extension, in id order, with its ignore mask when there is one', async () => {
    const pairs = await listPairs(join(root, 'mixed'), 'val');
    expect(pairs.map((p) => [p.id, p.image.slice(-5), p.ignore])).toEqual([['a', 'a.png', undefined], ['c', 'c.png', undefined]]);
    expect((await listPairs(join(root, 'mixed'))).map((p) => p.image.slice(-5))).toEqual(['a.png', 'b.jpg', 'c.png']);
    expect((await listPairs(join(root, 'unknown'), 'val'))[0]!.ignore).toBe(join(root, 'unknown', 'ignore', 'x.png'));
  });

  it('says which splits exist when asked for another', async () => {
    await expect(listPairs(join(root, 'mixed'), 'test')).rejects.toThrow(/Expected a split of .*mixed in \[val, train\] but received "test"/);
  });
});

describe('setScores', () => {
  it('pools intersections and unions for dataset IoU and averages the rest', () => {
    const s = setScores([
      { iou: 1, ms: 10, intersection: 90, union: 90, mae: 0.1, boundaryF: 1 },
      { iou: 0, ms: 30, intersection: 0, union: 10, mae: 0.3, boundaryF: 0 },
    ]);
    expect(s).toEqual({ datasetIoU: 0.9, meanIoU: 0.5, boundaryF: 0.5, mae: 0.2, n: 2, msPerImage: 20 });
  });
});

describe('runEval (the shipped model, several sets at once)', () => {
  it('scores each set on its own, reads .png photos, leaves ignore regions out, and writes a sheet per set', async () => {
    // Act
    const out = join(root, 'out');
    const r = await runEval({
      sets: [parseSetArg(join(root, 'mixed:val')), parseSetArg(join(root, 'unknown:val'))],
      threads: 1,
      provider: 'cpu',
      outDir: out,
    });

    // Assert
    expect(Object.keys(r.sets)).toEqual(['mixed/val', 'unknown/val']);
    expect(r.sets['mixed/val']!.n).toBe(2);
    expect(r.sets['mixed/val']!.perImage.map((p) => p.id)).toEqual(['a', 'c']);
    // Every pixel of 'unknown' is ignored: nothing to get wrong, whatever the model says.
    expect(r.sets['unknown/val']).toMatchObject({ n: 2, datasetIoU: 1, meanIoU: 1, mae: 0, boundaryF: 1 });
    expect(r.n).toBe(4);
    // Scored as served: a photo the subject rule finds nobody in is an empty mask (IoU 0 against the half-person truth).
    const mixed = r.sets['mixed/val']!;
    expect(mixed.noSubject).toBe(mixed.perImage.filter((p) => p.subject === 'none').length);
    for (const p of mixed.perImage.filter((i) => i.subject === 'none')) expect(p.iou).toBe(0);
    expect(r.summary.minDatasetIoU).toBe(Math.min(r.sets['mixed/val']!.datasetIoU, 1));
    expect(r.summary.meanDatasetIoU).toBeCloseTo((r.sets['mixed/val']!.datasetIoU + 1) / 2, 12);
    expect(existsSync(join(out, 'mixed-val-worst.jpg')) && existsSync(join(out, 'unknown-val-worst.jpg'))).toBe(true);
    expect(r.msPerImage).toBeGreaterThan(0);

    const json = reportJson(r);
    expect(Object.keys(json.sets as object)).toEqual(['mixed/val', 'unknown/val']);
    expect(Object.keys((json.sets as Record<string, object>)['unknown/val']!)).toEqual(['datasetIoU', 'meanIoU', 'boundaryF', 'mae', 'n', 'noSubject', 'msPerImage']);
    expect(json).not.toHaveProperty('datasetIoU'); // only one set repeats its figures at the top
    expect(formatReport(r)).toMatch(/unknown\/val\s+2\s+1\.0000\s+1\.0000\s+1\.0000\s+0\.0000/);
  }, 60_000);

  it('keeps the single-set figures at the top of the JSON line (the old shape)', async () => {
    const r = await runEval({ sets: [parseSetArg(join(root, 'unknown'), 'val')], threads: 1, provider: 'cpu' });
    expect(reportJson(r)).toMatchObject({ datasetIoU: 1, meanIoU: 1, n: 2, sets: { 'unknown/val': { n: 2 } } });
  }, 60_000);

  it('scores the model a --model-card names (a candidate beside its card), not the shipped one', async () => {
    // Arrange: the shipped weights under another card, as export.py writes a candidate to a folder of its own
    const dir = await mkdtemp(join(tmpdir(), 'gs-candidate-'));
    const card = JSON.parse(await readFile(cardPathFor('tiramisu'), 'utf8')) as { version: string; file: string };
    await copyFile(join(dirname(cardPathFor('tiramisu')), card.file), join(dir, card.file));
    await writeFile(join(dir, 'tiramisu.card.json'), JSON.stringify({ ...card, version: 'candidate-1' }));

    // Act
    const r = await runEval({ sets: [parseSetArg(join(root, 'unknown'), 'val')], threads: 1, provider: 'cpu', modelCard: join(dir, 'tiramisu.card.json') });

    // Assert
    expect(reportJson(r)).toMatchObject({ model: 'tiramisu@candidate-1' });
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await evalCli({ sets: [join(root, 'unknown:val')], threads: 1, provider: 'cpu', outDir: join(dir, 'sheets'), modelCard: join(dir, 'tiramisu.card.json'), json: true, quiet: true });
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
    expect(JSON.parse(out.join(''))).toMatchObject({ model: 'tiramisu@candidate-1' }); // the command passes the card on
  }, 60_000);

  it('refuses the same set twice', async () => {
    const s = parseSetArg(join(root, 'mixed:val'));
    await expect(runEval({ sets: [s, s], threads: 1, provider: 'cpu' })).rejects.toThrow('Expected each set once but mixed/val is given twice');
  });
});

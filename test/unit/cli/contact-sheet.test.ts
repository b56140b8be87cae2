/**
 * Issue 18: contact sheets a person can open. The quick start's sheet was one strip of rows,
 * 516 x 26,406 px (ImageMagick refused it); now a grid, 5 photos a row, each sheet at most 4,000
 * px a side, more sheets (numbered) for more photos.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactSheets, sheetGeometry, sheetNames, writeContactSheets, type SheetCell } from '#cli/contact-sheet';

let dir: string;
let photo: Buffer;
let mask: Buffer;
let cutout: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-sheet-'));
  photo = await sharp({ create: { width: 550, height: 822, channels: 3, background: '#a0522d' } }).jpeg().toBuffer();
  mask = await sharp({ create: { width: 550, height: 822, channels: 3, background: '#c8c8c8' } }).toColourspace('b-w').png().toBuffer();
  cutout = await sharp({ create: { width: 550, height: 822, channels: 4, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } }).png().toBuffer();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cells = (n: number): SheetCell[] => Array.from({ length: n }, (_, i) => ({ label: `photo ${i}`, images: [photo, mask, cutout] }));

describe('contact sheets', () => {
  it('are a grid of 5 photos a row (photo | mask | cut-out each), at most 4000 px a side', async () => {
    const g = sheetGeometry(3);
    expect(g.perRow).toBe(5);
    const [sheet, ...more] = await contactSheets(cells(12));
    expect(more).toHaveLength(0);
    const m = await sharp(sheet).metadata();
    expect(m.format).toBe('jpeg');
    expect(m.width).toBe(12 + 5 * (g.cellWidth + 12)); // five cells across
    expect(m.height).toBe(12 + 3 * g.rowHeight); // 12 photos: three rows
    expect(Math.max(m.width!, m.height!)).toBeLessThanOrEqual(4000);
  });

  it('take as many sheets as the photos need, each within 4000 x 4000', async () => {
    const g = sheetGeometry(3);
    const n = 2 * g.perSheet + 3;
    const sheets = await contactSheets(cells(n));
    expect(sheets).toHaveLength(3);
    for (const s of sheets) {
      const m = await sharp(s).metadata();
      expect(Math.max(m.width!, m.height!)).toBeLessThanOrEqual(4000);
    }
    const last = await sharp(sheets[2]!).metadata();
    expect(last.height).toBe(12 + g.rowHeight); // three photos: one row
  }, 60_000);

  it('keep extreme shapes inside their box (a 10000x1 photo is a line, not a canvas of gigabytes)', async () => {
    const wide = await sharp({ create: { width: 10000, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
    const tall = await sharp({ create: { width: 1, height: 10000, channels: 3, background: '#000' } }).png().toBuffer();
    const [sheet] = await contactSheets([{ images: [wide, tall] }]);
    const m = await sharp(sheet).metadata();
    expect(Math.max(m.width!, m.height!)).toBeLessThanOrEqual(600);
  });

  it('draw an image they cannot read as a placeholder instead of failing the run', async () => {
    const sheets = await contactSheets([{ label: 'broken', images: [Buffer.from('not an image'), photo] }]);
    expect(sheets).toHaveLength(1);
  });

  it('are named <base>.jpg alone, <base>-01.jpg … when more, and a rewrite removes stale pages', async () => {
    expect(sheetNames('contact-sheet', 1)).toEqual(['contact-sheet.jpg']);
    expect(sheetNames('contact-sheet', 3)).toEqual(['contact-sheet-01.jpg', 'contact-sheet-02.jpg', 'contact-sheet-03.jpg']);
    expect(sheetNames('contact-sheet', 120)[0]).toBe('contact-sheet-001.jpg');
    const out = join(dir, 'named');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    await writeFile(join(out, 'contact-sheet-07.jpg'), 'stale');
    await writeFile(join(out, 'keep.jpg'), 'other');
    const written = await writeContactSheets(out, 'contact-sheet', cells(2));
    expect(written).toEqual([join(out, 'contact-sheet.jpg')]);
    expect((await readdir(out)).sort()).toEqual(['contact-sheet.jpg', 'keep.jpg']);
  });

  it('read images from paths as well as buffers', async () => {
    const path = join(dir, 'p.jpg');
    await writeFile(path, photo);
    const [sheet] = await contactSheets([{ label: 'from a file', images: [path, mask] }]);
    expect((await sharp(sheet).metadata()).width).toBeGreaterThan(0);
  });
});

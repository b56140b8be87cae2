/**
 * Contact sheets a person can open: a grid of cells (by default 5 a row), each cell one photo's
 * images side by side (photo | mask | cut-out) under its label, transparency on green, and at most
 * `maxSide` px (4,000) on either side of a sheet: more photos make more sheets, numbered. (One long
 * strip of 899 rows was 516 x 26,406 px: ImageMagick refused it and viewers shrank it to a line.)
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export interface SheetCell {
  /** Encoded images (any format sharp reads), or paths of image files: read when their sheet is drawn. */
  images: (Buffer | string)[];
  label?: string;
}

export interface SheetLayout {
  /** Cells per row (fewer when they would not fit in maxSide). */
  perRow: number;
  /** Each image fits a square box this many px on a side (smaller when a cell would not fit maxSide). */
  box: number;
  /** Neither side of a sheet exceeds this. */
  maxSide: number;
  /** What shows through transparency. */
  background: string;
}

export const SHEET_LAYOUT: SheetLayout = { perRow: 5, box: 240, maxSide: 4000, background: '#00b140' };

const GAP = 12;
const INNER = 4;
const LABEL_H = 18;

export interface SheetGeometry {
  box: number;
  perRow: number;
  rowsPerSheet: number;
  perSheet: number;
  cellWidth: number;
  rowHeight: number;
}

/** Where the cells go, for cells of `images` images each. */
export function sheetGeometry(images: number, layout: Partial<SheetLayout> = {}): SheetGeometry {
  const l = { ...SHEET_LAYOUT, ...layout };
  const n = Math.max(1, images);
  const box = Math.max(16, Math.min(l.box, Math.floor((l.maxSide - 2 * GAP - (n - 1) * INNER) / n), l.maxSide - 2 * GAP - LABEL_H));
  const cellWidth = n * box + (n - 1) * INNER;
  const rowHeight = LABEL_H + box + GAP;
  const perRow = Math.max(1, Math.min(l.perRow, Math.floor((l.maxSide - GAP) / (cellWidth + GAP))));
  const rowsPerSheet = Math.max(1, Math.floor((l.maxSide - GAP) / rowHeight));
  return { box, perRow, rowsPerSheet, perSheet: perRow * rowsPerSheet, cellWidth, rowHeight };
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One image scaled to fit box x box (a 10000x1 photo stays a 240x1 line), flattened on the background. */
async function thumbnail(input: Buffer | string, box: number, background: string): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(input)
      .resize({ width: box, height: box, fit: 'inside' })
      .flatten({ background })
      .png({ compressionLevel: 1 })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch {
    // A sheet is for looking, not a gate: an image it cannot read is a grey square with a cross.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${box}" height="${box}"><rect width="${box}" height="${box}" fill="#999"/><path d="M0 0L${box} ${box}M${box} 0L0 ${box}" stroke="#555"/></svg>`;
    return { data: await sharp(Buffer.from(svg)).png().toBuffer(), width: box, height: box };
  }
}

/** One sheet of at most geometry.perSheet cells. */
async function drawSheet(cells: readonly SheetCell[], g: SheetGeometry, background: string): Promise<Buffer> {
  const columns = Math.min(g.perRow, cells.length);
  const width = GAP + columns * (g.cellWidth + GAP);
  const height = GAP + Math.ceil(cells.length / g.perRow) * g.rowHeight;
  const maxChars = Math.max(8, Math.floor(g.cellWidth / 7));
  const composites: sharp.OverlayOptions[] = [];
  for (const [i, cell] of cells.entries()) {
    const left = GAP + (i % g.perRow) * (g.cellWidth + GAP);
    const top = GAP + Math.floor(i / g.perRow) * g.rowHeight;
    if (cell.label) {
      const text = cell.label.length > maxChars ? `${cell.label.slice(0, maxChars - 1)}…` : cell.label;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${g.cellWidth}" height="${LABEL_H}"><text x="0" y="13" font-family="sans-serif" font-size="12" fill="#222">${escapeXml(text)}</text></svg>`;
      composites.push({ input: Buffer.from(svg), left, top });
    }
    const thumbs = await Promise.all(cell.images.map((img) => thumbnail(img, g.box, background)));
    thumbs.forEach((t, k) => {
      const slot = left + k * (g.box + INNER);
      composites.push({ input: t.data, left: slot + Math.floor((g.box - t.width) / 2), top: top + LABEL_H + Math.floor((g.box - t.height) / 2) });
    });
  }
  return sharp({ create: { width, height, channels: 3, background: '#f4f4f4' } })
    .composite(composites)
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The sheets for these cells, in order: as many as it takes to keep each within maxSide. */
export async function contactSheets(cells: readonly SheetCell[], layout: Partial<SheetLayout> = {}): Promise<Buffer[]> {
  const sheets: Buffer[] = [];
  for await (const sheet of eachSheet(cells, layout)) sheets.push(sheet);
  return sheets;
}

/** Sheet by sheet, so only one sheet's images are in memory at a time. */
async function* eachSheet(cells: readonly SheetCell[], layout: Partial<SheetLayout>): AsyncGenerator<Buffer> {
  if (!cells.length) return;
  const g = sheetGeometry(Math.max(...cells.map((c) => c.images.length)), layout);
  const background = layout.background ?? SHEET_LAYOUT.background;
  for (let start = 0; start < cells.length; start += g.perSheet) yield drawSheet(cells.slice(start, start + g.perSheet), g, background);
}

/** `<base>.jpg` for one sheet; `<base>-01.jpg`, `<base>-02.jpg`, … for more. */
export function sheetNames(base: string, count: number): string[] {
  if (count <= 1) return count === 1 ? [`${base}.jpg`] : [];
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `${base}-${String(i + 1).padStart(width, '0')}.jpg`);
}

/** How many sheets these cells make. */
export function sheetCount(cells: readonly SheetCell[], layout: Partial<SheetLayout> = {}): number {
  if (!cells.length) return 0;
  return Math.ceil(cells.length / sheetGeometry(Math.max(...cells.map((c) => c.images.length)), layout).perSheet);
}

/**
 * Writes the sheets as `<dir>/<base>.jpg` (or numbered, see sheetNames), after removing the sheets
 * an earlier run left under the same name (a run with fewer photos must not leave stale pages).
 */
export async function writeContactSheets(dir: string, base: string, cells: readonly SheetCell[], layout: Partial<SheetLayout> = {}): Promise<string[]> {
  const stale = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(-\\d+)?\\.jpg$`);
  for (const f of await readdir(dir).catch(() => [] as string[])) if (stale.test(f)) await rm(join(dir, f), { force: true });
  const names = sheetNames(base, sheetCount(cells, layout)).map((n) => join(dir, n));
  let i = 0;
  for await (const sheet of eachSheet(cells, layout)) await writeFile(names[i++]!, sheet);
  return names;
}

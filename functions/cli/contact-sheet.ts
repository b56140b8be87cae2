/** Contact sheets a person can open: one row per photo, cells side by side, transparency on green. */
import sharp from 'sharp';

export interface SheetRow {
  /** Encoded images (any format sharp reads). */
  cells: Buffer[];
  label?: string;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Each cell fits a box `cellHeight` tall and at most 3 x `cellHeight` wide, so an extreme aspect
 * ratio stays a thin strip: a 10000x1 photo scaled to 240 px tall would be 2.4 million pixels wide,
 * and the sheet a canvas of tens of gigabytes (what made `greenscreen run` die at exit, issue 11).
 */
export async function contactSheet(rows: SheetRow[], options: { cellHeight?: number; background?: string } = {}): Promise<Buffer> {
  const h = options.cellHeight ?? 240;
  const gap = 6;
  const labelH = 18;
  const rendered = await Promise.all(
    rows.map(async (row) =>
      Promise.all(
        row.cells.map(async (cell) => {
          const { data, info } = await sharp(cell)
            .resize({ width: 3 * h, height: h, fit: 'inside' })
            .flatten({ background: options.background ?? '#00b140' })
            .png()
            .toBuffer({ resolveWithObject: true });
          return { data, width: info.width };
        }),
      ),
    ),
  );
  const width = Math.max(1, ...rendered.map((r) => r.reduce((s, c) => s + c.width + gap, gap)));
  const rowH = h + labelH + gap;
  const composites: sharp.OverlayOptions[] = [];
  rendered.forEach((cells, r) => {
    let x = gap;
    const top = gap + r * rowH;
    const label = rows[r]!.label;
    if (label) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${labelH}"><text x="${gap}" y="13" font-family="sans-serif" font-size="12" fill="#222">${escapeXml(label)}</text></svg>`;
      composites.push({ input: Buffer.from(svg), left: 0, top });
    }
    for (const c of cells) {
      composites.push({ input: c.data, left: x, top: top + labelH });
      x += c.width + gap;
    }
  });
  return sharp({ create: { width, height: gap + rows.length * rowH, channels: 3, background: '#f4f4f4' } })
    .composite(composites)
    .jpeg({ quality: 85 })
    .toBuffer();
}

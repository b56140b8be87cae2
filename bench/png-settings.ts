/**
 * Which PNG settings for the RGBA cut-out and the mask? Encodes a 12-megapixel photo's outputs with
 * each candidate, side by side in one run, and prints median ms and size.
 *   npx tsx bench/png-settings.ts [--photo path] [--runs 5] [--json]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { median } from '#evaluation/metrics';
import { DEFAULT_OUTPUT_SPEC } from '#core/output-options';
import { encodeMaskPng } from '#segment/codecs';
import { encodeCutout } from '#segment/outputs';

const { values } = parseArgs({
  options: { photo: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' } },
});
const runs = Number(values.runs ?? 5);
const photo = values.photo ?? join(import.meta.dirname, '../../shared/data/ccp/images/0801.jpg');
// 4000x3000 (12 MP) from a real photo, so the content has real texture and edges.
const { data: rgb, info } = await sharp(await readFile(photo)).resize(3000, 4000, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const { width, height } = info;
// A soft mask with a person-like blob: mostly 0/255, soft edges.
const mask = Buffer.alloc(width * height);
for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
  const d = Math.hypot((x - width / 2) / (width * 0.3), (y - height * 0.55) / (height * 0.45));
  mask[y * width + x] = Math.max(0, Math.min(255, Math.round((1.05 - d) * 2550)));
}

const candidates: { name: string; png: sharp.PngOptions }[] = [
  { name: 'warm-up (not reported)', png: { compressionLevel: 1 } },
  { name: 'sharp default (level 6, no filter)', png: {} },
  { name: 'level 9, adaptive', png: { compressionLevel: 9, adaptiveFiltering: true } },
  { name: 'level 6, no filter', png: { compressionLevel: 6, adaptiveFiltering: false } },
  { name: 'level 3, no filter', png: { compressionLevel: 3, adaptiveFiltering: false } },
  { name: 'level 2, no filter', png: { compressionLevel: 2, adaptiveFiltering: false } },
  { name: 'level 1, no filter', png: { compressionLevel: 1, adaptiveFiltering: false } },
  { name: 'level 2, adaptive', png: { compressionLevel: 2, adaptiveFiltering: true } },
  { name: 'level 4, adaptive', png: { compressionLevel: 4, adaptiveFiltering: true } },
];

const rows = [];
for (const c of candidates) {
  const cut: number[] = [];
  const msk: number[] = [];
  let cutBytes = 0, maskBytes = 0;
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const out = await encodeCutout(rgb, mask, width, height, DEFAULT_OUTPUT_SPEC, undefined, { png: c.png });
    cut.push(performance.now() - t);
    cutBytes = out.length;
    t = performance.now();
    const m = await encodeMaskPng(mask, width, height, c.png);
    msk.push(performance.now() - t);
    maskBytes = m.length;
  }
  rows.push({ name: c.name, cutoutMs: median(cut), cutoutMB: cutBytes / 1e6, maskMs: median(msk), maskKB: maskBytes / 1e3 });
}
rows.shift();
const base = rows[0]!;
console.log(`PNG encode of a ${width}x${height} RGBA cut-out and grey mask, median of ${runs} runs`);
console.log('settings                               cutout ms   MB    x faster   mask ms   KB');
for (const r of rows) {
  console.log(`${r.name.padEnd(38)} ${r.cutoutMs.toFixed(0).padStart(8)} ${r.cutoutMB.toFixed(1).padStart(6)} ${(base.cutoutMs / r.cutoutMs).toFixed(2).padStart(8)} ${r.maskMs.toFixed(0).padStart(9)} ${r.maskKB.toFixed(0).padStart(6)}`);
}
if (values.json) console.log(JSON.stringify({ width, height, runs, rows }));

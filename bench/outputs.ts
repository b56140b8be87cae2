/**
 * Encode cost of each output format, at 0.5 MP and 12 MP: the cut-out step of a job (subject over
 * its background, encoded) from an upright photo and its mask, medians of several runs side by
 * side, with the file size. Variants of effort are measured to choose the settings in
 * functions/segment/codecs.ts.
 *
 *   npm run bench:outputs -- [--json] [--runs N]
 *
 * The last line with --json is one JSON object keyed by format variant:
 * {"png": {"0.5MP": {"ms": …, "bytes": …}, "12MP": {…}}, …}.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_OUTPUT_SPEC, type OutputSpec } from '#core/output-options';
import { AVIF_EFFORT, WEBP_LOSSLESS_EFFORT, WEBP_LOSSY_EFFORT } from '#segment/codecs';
import { decodeImage } from '#segment/image';
import { createSegmenter } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { encodeCutout } from '#segment/outputs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const PHOTO = join(import.meta.dirname, '../../shared/data/ccp/images/0801.jpg');

const variants: { name: string; spec: OutputSpec; effort?: number }[] = [
  { name: 'png', spec: DEFAULT_OUTPUT_SPEC },
  ...[0, 2, 4].map((effort) => ({ name: `webp-lossless-e${effort}`, spec: { ...DEFAULT_OUTPUT_SPEC, format: 'webp' as const }, effort })),
  ...[0, 2, 4].map((effort) => ({ name: `webp-q90-e${effort}`, spec: { ...DEFAULT_OUTPUT_SPEC, format: 'webp' as const, quality: 90 }, effort })),
  ...[0, 2, 4].map((effort) => ({ name: `avif-q60-e${effort}`, spec: { ...DEFAULT_OUTPUT_SPEC, format: 'avif' as const }, effort })),
  { name: 'jpeg-q90-white', spec: { ...DEFAULT_OUTPUT_SPEC, format: 'jpeg', background: { type: 'colour', colour: '#ffffff' } } },
  { name: 'png-blur', spec: { ...DEFAULT_OUTPUT_SPEC, background: { type: 'blur', sigma: 20 } } },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// One real photo and its real mask, at 0.5 MP (as shot) and 12 MP (4000 x 3000 area, upscaled).
const photo = await decodeImage(await readFile(PHOTO), { maxPixels: 4e7 });
const segmenter = await createSegmenter(await loadModelCard(cardPathFor('tiramisu')), { provider: 'cpu', threads: 1 });
const { mask } = await segmenter.segment(photo);
await segmenter.release();
const big = { width: 2832, height: 4233 }; // 12.0 MP, the photo's aspect ratio
const sizes = {
  '0.5MP': { rgb: photo.rgb, alpha: mask, width: photo.width, height: photo.height },
  '12MP': {
    rgb: await sharp(photo.rgb, { raw: { width: photo.width, height: photo.height, channels: 3 } }).resize(big.width, big.height).raw().toBuffer(),
    alpha: await sharp(mask, { raw: { width: photo.width, height: photo.height, channels: 1 } }).resize(big.width, big.height).toColourspace('b-w').raw().toBuffer(),
    ...big,
  },
};

const report: Record<string, Record<string, { ms: number; bytes: number }>> = {};
for (const v of variants) {
  report[v.name] = {};
  for (const [label, img] of Object.entries(sizes)) {
    const runs = label === '12MP' ? Math.max(3, Math.ceil(RUNS / 2)) : RUNS;
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const out = await encodeCutout(img.rgb, img.alpha, img.width, img.height, v.spec, undefined, v.effort === undefined ? {} : { effort: v.effort });
      times.push(performance.now() - t0);
      bytes = out.length;
    }
    report[v.name]![label] = { ms: Math.round(median(times) * 10) / 10, bytes };
  }
  const r = report[v.name]!;
  process.stdout.write(
    `${v.name.padEnd(20)} 0.5 MP ${String(r['0.5MP']!.ms).padStart(7)} ms ${String(Math.round(r['0.5MP']!.bytes / 1024)).padStart(6)} KiB` +
      `   12 MP ${String(r['12MP']!.ms).padStart(8)} ms ${String(Math.round(r['12MP']!.bytes / 1024)).padStart(7)} KiB` +
      `   (x${(r['12MP']!.ms / report.png!['12MP']!.ms).toFixed(2)} png's time at 12 MP)\n`,
  );
}
process.stdout.write(`defaults: webp lossless effort ${WEBP_LOSSLESS_EFFORT}, lossy ${WEBP_LOSSY_EFFORT}, avif effort ${AVIF_EFFORT}; medians of ${RUNS} (0.5 MP) / ${Math.max(3, Math.ceil(RUNS / 2))} (12 MP) runs\n`);
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);

/**
 * `greenscreen eval <setDir>[:split] ...`: quality and speed of the shipped model, set by set,
 * through the serving code path (decode -> the worker's segmenter, #segmenter/segmenter's one
 * composition: pre-process -> ONNX -> the subject rule -> upsample and haze curve): it scores what
 * users get. A photo the subject rule finds nobody in is scored as the empty mask it is served as
 * (IoU 0 against a labelled person); `noSubject` counts them per set.
 */
import { mkdir, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeImage } from '#segment/image';
import { createSegmenter } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import type { ExecutionProviderChoice } from '#segment/model-session';
import { writeContactSheets } from './contact-sheet.ts';
import { median, scoreMask } from '#evaluation/metrics';
import { listPairs, parseSetArg, type EvalSet, type Pair } from '#evaluation/labelled-sets';
import { Progress } from './progress.ts';
import type { Subject } from '#segmenter/subject';

export interface EvalOptions {
  sets: EvalSet[];
  /** First N photos of each set. */
  limit?: number;
  threads: number;
  provider: ExecutionProviderChoice;
  modelCard?: string;
  /** Where the worst-12 contact sheets go (one per set); none when absent. */
  outDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface SetScores {
  /** Σ intersections / Σ unions over the set. */
  datasetIoU: number;
  meanIoU: number;
  boundaryF: number;
  mae: number;
  n: number;
  /** Median ms per photo in this set: decode + pre-process + model + upsample. */
  msPerImage: number;
}

export interface SetResult extends SetScores {
  /** Photos the subject rule found nobody in (served, and scored, as an empty mask). */
  noSubject: number;
  perImage: { id: string; iou: number; ms: number; subject: Subject }[];
  worstSheet?: string;
}

export interface EvalReport {
  sets: Record<string, SetResult>;
  /** Across sets: the mean of per-set dataset IoU, and the lowest one (no set may collapse). */
  summary: { meanDatasetIoU: number; minDatasetIoU: number; minSet: string };
  n: number;
  /** Median over every photo of every set. */
  msPerImage: number;
  /** Mean time inside the session per photo. */
  modelMsPerImage: number;
  model: string;
  provider: string;
}

async function readGrey(path: string, what: string, width: number, height: number): Promise<Buffer> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) {
    throw new Error(`Expected ${what} ${path} to be ${width}x${height} (like its photo) but it is ${info.width}x${info.height}`);
  }
  return data;
}

/** Reduces per-photo scores to a set's figures. */
export function setScores(rows: readonly { iou: number; ms: number; intersection: number; union: number; mae: number; boundaryF: number }[]): SetScores {
  const n = rows.length;
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
  const union = sum((r) => r.union);
  return {
    datasetIoU: union ? sum((r) => r.intersection) / union : n ? 1 : 0,
    meanIoU: n ? sum((r) => r.iou) / n : 0,
    boundaryF: n ? sum((r) => r.boundaryF) / n : 0,
    mae: n ? sum((r) => r.mae) / n : 0,
    n,
    msPerImage: median(rows.map((r) => r.ms)),
  };
}

export async function runEval(options: EvalOptions): Promise<EvalReport> {
  if (!options.sets.length) throw new Error('Expected at least one set to evaluate but received none');
  const names = options.sets.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`Expected each set once but ${dup} is given twice`);
  const lists = await Promise.all(
    options.sets.map(async (s) => {
      const pairs = await listPairs(s.dir, s.split);
      return options.limit ? pairs.slice(0, options.limit) : pairs;
    }),
  );
  const total = lists.reduce((a, l) => a + l.length, 0);
  const loaded = await loadModelCard(options.modelCard ?? cardPathFor('tiramisu'));
  const segmenter = await createSegmenter(loaded, { provider: options.provider, threads: options.threads });
  try {
    // Warm-up run so the first photo's time is not the session's first-run cost.
    const first = lists.find((l) => l.length)?.[0];
    if (first) await segmenter.segment(await decodeImage(await readFile(first.image), { maxPixels: 1e8 }));
    const modelMsBefore = segmenter.batcher.stats.modelMs;
    const sets: Record<string, SetResult> = {};
    const allMs: number[] = [];
    let done = 0;
    for (const [k, set] of options.sets.entries()) {
      const rows: (Parameters<typeof setScores>[0][number] & { id: string; subject: Subject })[] = [];
      const preds = new Map<string, Buffer>();
      for (const pair of lists[k]!) {
        const bytes = await readFile(pair.image);
        const t0 = performance.now();
        const img = await decodeImage(bytes, { maxPixels: 1e8 });
        const { mask, subject } = await segmenter.segment(img);
        const ms = performance.now() - t0;
        const truth = await readGrey(pair.mask, 'mask', img.width, img.height);
        const ignore = pair.ignore ? await readGrey(pair.ignore, 'ignore mask', img.width, img.height) : undefined;
        const s = scoreMask(mask, truth, img.width, img.height, ignore);
        rows.push({ id: pair.id, ms, subject, ...s });
        allMs.push(ms);
        if (options.outDir) preds.set(pair.id, await sharp(mask, { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
        options.onProgress?.(++done, total);
      }
      const result: SetResult = {
        ...setScores(rows),
        noSubject: rows.filter((r) => r.subject === 'none').length,
        perImage: rows.map((r) => ({ id: r.id, iou: r.iou, ms: r.ms, subject: r.subject })),
      };
      if (options.outDir && rows.length) result.worstSheet = await worstSheet(options.outDir, set, lists[k]!, rows, preds);
      sets[set.name] = result;
    }
    const ranked = Object.entries(sets).sort((a, b) => a[1].datasetIoU - b[1].datasetIoU);
    return {
      sets,
      summary: {
        meanDatasetIoU: ranked.reduce((a, [, s]) => a + s.datasetIoU, 0) / ranked.length,
        minDatasetIoU: ranked[0]![1].datasetIoU,
        minSet: ranked[0]![0],
      },
      n: total,
      msPerImage: median(allMs),
      modelMsPerImage: (segmenter.batcher.stats.modelMs - modelMsBefore) / Math.max(1, total),
      model: `${loaded.card.name}@${loaded.card.version}`,
      provider: segmenter.session.provider,
    };
  } finally {
    await segmenter.release();
  }
}

/**
 * photo | truth | prediction for the 12 lowest IoUs of a set, as a grid (contact-sheet.ts):
 * `<outDir>/<set>-<split>-worst.jpg` (numbered if a layout ever needs more than one sheet).
 */
async function worstSheet(
  outDir: string,
  set: EvalSet,
  pairs: readonly Pair[],
  rows: readonly { id: string; iou: number }[],
  preds: Map<string, Buffer>,
): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const byId = new Map(pairs.map((p) => [p.id, p]));
  const worst = [...rows].sort((a, b) => a.iou - b.iou).slice(0, 12);
  const sheets = await writeContactSheets(
    outDir,
    `${set.name.replace(/[^\w.-]+/g, '-')}-worst`,
    worst.map((w) => ({
      label: `${w.id}  IoU ${w.iou.toFixed(3)}  (photo | truth | prediction)`,
      images: [byId.get(w.id)!.image, byId.get(w.id)!.mask, preds.get(w.id)!],
    })),
  );
  return sheets.join(', ');
}

/** The table a person reads: one row per set, then the all-sets summary. */
export function formatReport(r: EvalReport): string {
  const head = ['set', 'n', 'dataset IoU', 'mean IoU', 'boundary F', 'MAE', 'ms/image'];
  const rows = Object.entries(r.sets).map(([name, s]) => [
    name, String(s.n), s.datasetIoU.toFixed(4), s.meanIoU.toFixed(4), s.boundaryF.toFixed(4), s.mae.toFixed(4), s.msPerImage.toFixed(1),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')}\n`;
  return (
    `model ${r.model} on ${r.provider}, ${r.n} images in ${rows.length} set(s)\n` +
    line(head) +
    rows.map(line).join('') +
    `  all sets: mean of dataset IoU ${r.summary.meanDatasetIoU.toFixed(4)}, min ${r.summary.minDatasetIoU.toFixed(4)} (${r.summary.minSet})\n` +
    `  ms/image ${r.msPerImage.toFixed(1)} median (decode + pre-process + model + upsample); model ${r.modelMsPerImage.toFixed(1)} mean\n` +
    Object.entries(r.sets)
      .filter(([, s]) => s.noSubject)
      .map(([name, s]) => `  ${name}: nobody found in ${s.noSubject} of ${s.n} photo(s) (subject rule): scored as the empty mask users get\n`)
      .join('') +
    Object.entries(r.sets)
      .filter(([, s]) => s.worstSheet)
      .map(([name, s]) => `  worst 12 of ${name}: ${s.worstSheet}\n`)
      .join('')
  );
}

/** The `--json` line: per-set figures, the summary and speed (one set also repeats its figures at the top, as before). */
export function reportJson(r: EvalReport): Record<string, unknown> {
  const sets = Object.fromEntries(
    Object.entries(r.sets).map(([name, s]) => [
      name,
      { datasetIoU: s.datasetIoU, meanIoU: s.meanIoU, boundaryF: s.boundaryF, mae: s.mae, n: s.n, noSubject: s.noSubject, msPerImage: s.msPerImage },
    ]),
  );
  const only = Object.values(sets).length === 1 ? Object.values(sets)[0] : undefined;
  return {
    ...(only ?? {}),
    sets,
    summary: r.summary,
    n: r.n,
    msPerImage: r.msPerImage,
    modelMsPerImage: r.modelMsPerImage,
    model: r.model,
    provider: r.provider,
  };
}

export interface EvalCliOptions {
  /** `<setDir>[:split]` arguments, as typed. */
  sets: string[];
  /** Split for sets given without `:split`. */
  split?: string;
  limit?: number;
  threads: number;
  provider: ExecutionProviderChoice;
  outDir: string;
  /** Score the model this card names instead of the shipped one. */
  modelCard?: string;
  json: boolean;
  quiet: boolean;
}

/**
 * `greenscreen eval`, after its flags are parsed (functions/cli/main.ts): the table on stdout, or
 * with --json the JSON line alone on stdout and the table on stderr (stdout stays parseable).
 */
export async function evalCli(o: EvalCliOptions): Promise<number> {
  if (!o.sets.length) throw new Error('Expected at least one <setDir>[:split] but received none');
  const progress = new Progress('evaluating', undefined, process.stderr, o.quiet);
  const report = await runEval({
    sets: o.sets.map((p) => parseSetArg(p, o.split)),
    ...(o.limit ? { limit: o.limit } : {}),
    threads: o.threads,
    provider: o.provider,
    outDir: o.outDir,
    ...(o.modelCard ? { modelCard: o.modelCard } : {}),
    onProgress: (d, total) => {
      progress.setTotal(total);
      progress.update(d);
    },
  });
  progress.done();
  if (o.json) {
    process.stderr.write(formatReport(report));
    process.stdout.write(`${JSON.stringify(reportJson(report))}\n`);
  } else {
    process.stdout.write(formatReport(report));
  }
  return 0;
}

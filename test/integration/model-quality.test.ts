/**
 * CI guard on the shipped model's quality, set by set, through the serving code path (the worker's
 * segmenter): the first PHOTOS photos of each set below, one run of `greenscreen eval`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSetArg } from '#evaluation/labelled-sets';
import { runEval, type EvalReport } from '#cli/eval';

const DATA = join(import.meta.dirname, '../../../shared/data');
const PHOTOS = 8;

/**
 * THE FLOORS: one row per set, raised whenever a better model ships. Measured for the shipped model
 * on exactly these photos with
 *   npx greenscreen eval ../shared/data/pfcn:val ../shared/data/camvid:val ../shared/data/pennfudan:val ../shared/data/ccp:test --limit 8 --json
 * tiramisu@2026.12.07-9 measured (dataset IoU / mean IoU / MAE): pfcn/val 0.852 / 0.844 / 0.082,
 * camvid/val 0.225 / 0.187 / 0.012, pennfudan/val 0.735 / 0.738 / 0.043, ccp/test 0.844 / 0.857 / 0.039
 * (2026.12.07-8: 0.852, 0.261, 0.732, 0.843; 2026.12.07-7: 0.848, 0.258, 0.730, 0.847; 2026.12.07-6: 0.849, 0.260, 0.733, 0.846; 2026.12.07-5: 0.845, 0.220, 0.729, 0.840; 2026.12.07-4: 0.845, 0.241, 0.729, 0.844; 2026.12.07-3: 0.846, 0.254, 0.730, 0.842; 2026.12.07-2:
 * 0.846, 0.261, 0.730, 0.837; 2026.12.07-1: 0.849, 0.242, 0.733, 0.835; 2026.12.06-2: 0.850, 0.289,
 * 0.718, 0.832 dataset IoU).
 * camvid/val's 8 frames swing by 0.02-0.07 against what all 233 frames say (on all of them
 * 2026.12.07-5 scores 0.232, 2026.12.07-4 0.227, 2026.12.06-2 0.180: the opposite order), so its
 * floors sit 0.03 below this model's figures like the others' (from 2026.12.07-4 to -5 they were only
 * 0.01 below, and an 8-frame swing crossed them while the whole set gained; from 2026.12.07-8 to -9
 * the 8 frames lost 0.036 while all 233 gained 0.003, so camvid's floors came down). The figures are
 * deterministic on one machine; the margin is for other CPUs' onnxruntime kernels and that swing.
 * Floors sit ~0.03 below (ceilings ~0.03 above), so they catch regressions, not noise.
 */
const FLOORS: Record<string, { datasetIoU: number; meanIoU: number; maxMAE: number }> = {
  'pfcn/val': { datasetIoU: 0.82, meanIoU: 0.81, maxMAE: 0.11 },
  'camvid/val': { datasetIoU: 0.19, meanIoU: 0.15, maxMAE: 0.045 },
  'pennfudan/val': { datasetIoU: 0.7, meanIoU: 0.71, maxMAE: 0.075 },
  'ccp/test': { datasetIoU: 0.81, meanIoU: 0.82, maxMAE: 0.075 },
};

const sets = Object.keys(FLOORS).map((name) => parseSetArg(join(DATA, name.replace('/', ':'))));
const haveData = sets.every((s) => existsSync(s.dir));

describe.skipIf(!haveData)(`shipped model quality (first ${PHOTOS} photos of each set)`, () => {
  let report: EvalReport;
  beforeAll(async () => {
    report = await runEval({ sets, limit: PHOTOS, threads: 2, provider: 'cpu' });
  }, 240_000);

  it.each(Object.entries(FLOORS))('%s stays above its floors', (name, floor) => {
    const s = report.sets[name]!;
    expect(s.n).toBe(PHOTOS);
    expect(s.datasetIoU).toBeGreaterThan(floor.datasetIoU);
    expect(s.meanIoU).toBeGreaterThan(floor.meanIoU);
    expect(s.mae).toBeLessThan(floor.maxMAE);
  });
});

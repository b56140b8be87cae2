/** Guards the shipped model's quality through the serving code path, on 10 hand-labelled photos. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEval } from '../../functions/cli/eval.ts';

const CCP = join(import.meta.dirname, '../../../shared/data/ccp');
/**
 * The shipped model (2026.11.25-2) measures dataset IoU 0.863 / mean IoU 0.880 on these 10 photos
 * (0.908 / 0.911 on all 100): floors a little below, so they catch regressions, not noise.
 */
const DATASET_IOU_FLOOR = 0.83;
const MEAN_IOU_FLOOR = 0.85;

describe('shipped model quality (ccp test split, first 10 photos)', () => {
  it.skipIf(!existsSync(CCP))(`keeps dataset IoU above ${DATASET_IOU_FLOOR}`, async () => {
    const s = await runEval({ setDir: CCP, split: 'test', limit: 10, threads: 2, provider: 'cpu' });
    expect(s.n).toBe(10);
    expect(s.datasetIoU).toBeGreaterThan(DATASET_IOU_FLOOR);
    expect(s.meanIoU).toBeGreaterThan(MEAN_IOU_FLOOR);
  }, 120_000);
});

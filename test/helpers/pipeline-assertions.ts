/** vitest assertions over a pipeline audit (kept apart from pipeline.ts, which the benchmarks import too). */
import { expect } from 'vitest';
import type { LocalStack } from '#local/stack';
import { auditRun, type Audit } from '#harness/pipeline';

/**
 * The promise of a clean run, asserted in full: every key ended, none twice, no broken outputs,
 * every webhook delivered with a stable id, and every job succeeded.
 */
export async function expectAllSucceededOnce(stack: LocalStack, keys: readonly string[]): Promise<Audit> {
  const audit = await auditRun(stack, keys);
  expect(audit.lost).toEqual([]);
  expect(audit.duplicates).toEqual([]);
  expect(audit.invalid).toEqual([]);
  expect(audit.webhookProblems).toEqual([]);
  expect([...audit.results.values()].map((r) => r.status)).toEqual(keys.map(() => 'succeeded'));
  return audit;
}

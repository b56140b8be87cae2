/** What every fault scenario shares: the stack's settings, the row it reports, settling and auditing a run. */
import type { LocalStack, LocalStackOptions } from '#local/stack';
import { readPhoto } from '#harness/images';
import { auditRun, waitForWebhooks, type Audit } from '#harness/pipeline';

export interface FaultBench {
  /** Inference threads of every worker. */
  threads: number;
  stackDefaults: LocalStackOptions;
  log(line: string): void;
}

export interface ScenarioRow {
  scenario: string;
  injected: string;
  jobs: number;
  lost: number;
  duplicates: number;
  invalid: number;
  /** Webhooks accepted by the receiver after de-duplication by webhook-id. */
  webhooks: number;
  /** Re-sent webhooks the receiver recognised by their webhook-id. */
  redelivered: number;
  seconds: number;
  survived: boolean;
}

export const photos = (prefix: string, n: number, from: number) =>
  Promise.all(Array.from({ length: n }, async (_, i) => ({ key: `incoming/${prefix}/${String(i).padStart(3, '0')}.jpg`, bytes: await readPhoto(from + i) })));

/** Waits for every webhook (a timeout is a finding, not a crash), then audits. */
export async function settle(bench: FaultBench, stack: LocalStack, keys: readonly string[], timeoutMs: number): Promise<Audit> {
  await waitForWebhooks(stack.receiver, keys, timeoutMs).catch((err: Error) => bench.log(`  ${err.message}`));
  return auditRun(stack, keys);
}

export function row(scenario: string, injected: string, keys: readonly string[], audit: Audit, started: number, extra = true): ScenarioRow {
  const delivered = keys.filter((k) => audit.results.has(k) && !audit.webhookProblems.some((p) => p.key === k)).length;
  return {
    scenario,
    injected,
    jobs: keys.length,
    lost: audit.lost.length,
    duplicates: audit.duplicates.length,
    invalid: audit.invalid.length,
    webhooks: delivered,
    redelivered: audit.webhookRedeliveries,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    survived: extra && audit.lost.length === 0 && audit.duplicates.length === 0 && audit.invalid.length === 0 && audit.webhookProblems.length === 0,
  };
}

/** A scenario that throws is a finding too: it shows as not survived, with the reason. */
export async function attempt<T extends ScenarioRow>(bench: FaultBench, scenario: string, run: () => Promise<T>): Promise<T | ScenarioRow> {
  bench.log(`${scenario}…`);
  try {
    return await run();
  } catch (err) {
    bench.log(`  ${scenario} failed: ${(err as Error).stack}`);
    const message = (err as Error).message;
    return { scenario, injected: `did not complete: ${message}`, jobs: 0, lost: 0, duplicates: 0, invalid: 0, webhooks: 0, redelivered: 0, seconds: 0, survived: false };
  }
}

/**
 * Fault benchmark (issue "Nothing lost, nothing let in"): runs the local stack through crashes,
 * transient S3/SQS faults, an emulator restart and every awkward input, drives the webhook URL
 * guard over the SSRF vectors, and prints what was injected and what survived.
 *
 *   npm run bench:faults -- [--json] [--burst 1000] [--threads 2]
 *
 * --json ends the output with one JSON line (jobsLost, duplicateResults, badInputsTried,
 * badInputsUnended, ssrfTried, ssrfAllowed, ...). --burst N also uploads N photos at once to a stack
 * whose worker is a separate process, sampling that process's RSS every 500 ms.
 *
 * One file per scenario in bench/faults/; this one runs them and prints the report.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { LocalStackOptions } from '#local/stack';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { badInputRun } from './faults/bad-input.ts';
import { burst, type BurstFigures } from './faults/burst.ts';
import { emulatorRestarted } from './faults/emulator-restarted.ts';
import { notifyCrashed } from './faults/notify-crashed.ts';
import { attempt, type FaultBench, type ScenarioRow } from './faults/scenario.ts';
import { ssrf } from './faults/ssrf.ts';
import { transient } from './faults/transient.ts';
import { workerKilled } from './faults/worker-killed.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({ options: { json: { type: 'boolean' }, burst: { type: 'string' }, threads: { type: 'string' } } });
const THREADS = Number(values.threads ?? 2);
const BURST = values.burst ? Number(values.burst) : 0;
const log = (s: string) => process.stderr.write(`${s}\n`);
const modelVersion = (await loadModelCard(cardPathFor('tiramisu'))).card.version;
const stackDefaults: LocalStackOptions = { batchSize: 4, threads: THREADS, provider: 'auto', pollMs: 100, modelVersion };
const bench: FaultBench = { threads: THREADS, stackDefaults, log };

const table = (headers: string[], rows: (string | number | boolean)[][]) =>
  [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');

const benchStarted = performance.now();
const scenarios: ScenarioRow[] = [];
scenarios.push(await attempt(bench, 'worker SIGKILL mid-batch', () => workerKilled(bench)));
scenarios.push(await attempt(bench, 'notify dies mid-batch', () => notifyCrashed(bench)));
const restart = await attempt(bench, 'emulator restart (state lost)', () => emulatorRestarted(bench));
scenarios.push(restart);
scenarios.push(
  await attempt(bench, 'transient S3/SQS faults, every Nth call', () => transient(bench, 'transient S3/SQS faults, every Nth call', {
    store: { everyNth: 3, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 10, seed: 11 },
    jobs: { everyNth: 4, methods: ['sendBatch', 'receive', 'delete', 'release'], timing: 'mixed', maxFaults: 8, seed: 12 },
    events: { everyNth: 2, methods: ['sendBatch'], timing: 'mixed', maxFaults: 5, seed: 13 },
  }, 200)),
);
scenarios.push(
  await attempt(bench, 'transient S3/SQS faults, p = 0.2 (seeded)', () => transient(bench, 'transient S3/SQS faults, p = 0.2 (seeded)', {
    store: { probability: 0.2, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 12, seed: 21 },
    jobs: { probability: 0.2, timing: 'mixed', maxFaults: 10, seed: 22 },
    events: { probability: 0.3, timing: 'mixed', maxFaults: 5, seed: 23 },
  }, 220)),
);
log('bad input…');
const bad = await badInputRun(bench);
scenarios.push(bad.scenario);
log('SSRF vectors…');
const guard = await ssrf();
let burstFigures: BurstFigures | undefined;
if (BURST > 0) {
  log(`burst of ${BURST} photos…`);
  burstFigures = await burst(bench, BURST);
}

const totals = {
  jobsLost: scenarios.reduce((n, s) => n + s.lost, 0) + (burstFigures?.lost ?? 0),
  duplicateResults: scenarios.reduce((n, s) => n + s.duplicates, 0) + (burstFigures?.duplicates ?? 0),
  invalidResults: scenarios.reduce((n, s) => n + s.invalid, 0) + (burstFigures?.invalid ?? 0),
  scenarios: scenarios.length,
  scenariosSurvived: scenarios.filter((s) => s.survived).length,
  badInputsTried: bad.rows.length,
  badInputsUnended: bad.rows.filter((r) => !r.ended).length,
  badInputsUnexpected: bad.rows.filter((r) => !r.ok).length,
  svgFetches: bad.svgFetches,
  ssrfTried: guard.rows.length,
  ssrfAllowed: guard.rows.filter((r) => !r.blocked).length,
  ssrfControlsAllowed: `${guard.controlsAllowed}/${guard.controls}`,
  ...('outage' in restart ? { outageAttempts: restart.outage } : {}),
  ...(burstFigures
    ? {
        burst: burstFigures.photos,
        burstSeconds: burstFigures.seconds,
        burstImagesPerSecond: burstFigures.imagesPerSecond,
        burstPeakRssMB: burstFigures.peakRssMB,
        burstRssSlopeMBPerMin: burstFigures.rssSlopeMBPerMin,
        burstRssAtQuartersMB: burstFigures.rssAtQuartersMB,
      }
    : {}),
  seconds: Math.round((performance.now() - benchStarted) / 1000),
};

const out: string[] = [];
out.push(`## Faults injected and survived (${availableParallelism()} cores, ${THREADS} inference threads)`, '');
out.push(
  table(
    ['Scenario', 'Injected', 'Jobs', 'Lost', 'Duplicate result sets', 'Invalid outputs', 'Webhooks (after de-dup)', 'Re-sent, de-duplicated', 's', 'Survived'],
    scenarios.map((s) => [s.scenario, s.injected, s.jobs, s.lost, s.duplicates, s.invalid, `${s.webhooks}/${s.jobs}`, s.redelivered, s.seconds, s.survived ? 'yes' : 'NO']),
  ),
);
out.push('', '## Bad input: how each ended', '');
out.push(table(['Input', 'Expected', 'Ended as', 'OK'], bad.rows.map((r) => [r.input, r.expected, r.endedAs, r.ok ? 'yes' : 'NO'])));
out.push('', `SVG external references fetched: ${bad.svgFetches}`);
out.push('', '## SSRF vectors (production guard: https only, no loopback)', '');
out.push(table(['Vector', 'URL', 'Blocked', 'How'], guard.rows.map((r) => [r.vector, `\`${r.url}\``, r.blocked ? 'yes' : 'NO', r.how])));
out.push('', `Public controls allowed: ${guard.controlsAllowed}/${guard.controls} (the guard is not simply refusing everything)`);
if (burstFigures) {
  out.push('', `## Burst of ${burstFigures.photos} photos (worker as a separate process)`, '');
  out.push(
    table(
      ['Photos', 'Wall time (s)', 'Images/s', 'Lost', 'Duplicate result sets', 'Worker peak RSS (MB)', 'RSS at 25/50/75/99% (MB)', 'RSS slope, 2nd half (MB/min)'],
      [[burstFigures.photos, burstFigures.seconds, burstFigures.imagesPerSecond, burstFigures.lost, burstFigures.duplicates, burstFigures.peakRssMB, burstFigures.rssAtQuartersMB.join(' / '), burstFigures.rssSlopeMBPerMin]],
    ),
  );
}
out.push(
  '',
  '## Totals',
  '',
  table(
    ['Jobs lost', 'Duplicate result sets', 'Scenarios survived', 'Bad inputs tried', 'Unended', 'Unexpected', 'SSRF vectors tried', 'Allowed'],
    [[totals.jobsLost, totals.duplicateResults, `${totals.scenariosSurvived}/${totals.scenarios}`, totals.badInputsTried, totals.badInputsUnended, totals.badInputsUnexpected, totals.ssrfTried, totals.ssrfAllowed]],
  ),
);
console.log(out.join('\n'));
if (values.json) console.log(JSON.stringify(totals));
process.exitCode = totals.jobsLost === 0 && totals.duplicateResults === 0 && totals.ssrfAllowed === 0 && totals.badInputsUnended === 0 ? 0 : 1;

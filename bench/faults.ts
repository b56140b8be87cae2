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
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { SQSEvent } from 'aws-lambda';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsJobQueue } from '#core/adapters/sqs-job-queue';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import type { SegmentJob } from '#core/types';
import { startEmulator } from '#local/emulator';
import { provisionResources } from '#local/provision';
import type { SqsLambdaHandler } from '#local/sqs-event-source';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '#local/stack';
import { responseError } from '#notify/deliver';
import { createHttpClient, pinnedLookup } from '#notify/http-client';
import { classifyAddress, createUrlGuard, type ResolvedAddress } from '#notify/url-guard';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { spawnWorker } from '#harness/child-worker';
import { FaultInjector, FaultyJobQueue, FaultyObjectStore } from '#harness/faults';
import { startHttpRecorder } from '#harness/http-recorder';
import { badInputs, photoPath, readPhoto } from '#harness/images';
import { auditRun, startStackWithFaults, uploadAll, waitForWebhooks, waitUntil, webhookData, deliveriesByKey, type Audit, type FaultPlan, type Upload } from '#harness/pipeline';
import { SSRF_CONTROLS, SSRF_VECTORS, TEST_RESOLVER_ANSWERS } from '#harness/ssrf-vectors';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({ options: { json: { type: 'boolean' }, burst: { type: 'string' }, threads: { type: 'string' } } });
const THREADS = Number(values.threads ?? 2);
const BURST = values.burst ? Number(values.burst) : 0;
const log = (s: string) => process.stderr.write(`${s}\n`);
const modelVersion = (await loadModelCard(cardPathFor('tiramisu'))).card.version;
const stackDefaults: LocalStackOptions = { batchSize: 4, threads: THREADS, provider: 'auto', pollMs: 100, modelVersion };

// ---------------------------------------------------------------------------------------------
// Scenarios: each injects faults into a running pipeline and audits what came out.

interface ScenarioRow {
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

const photos = (prefix: string, n: number, from: number) =>
  Promise.all(Array.from({ length: n }, async (_, i) => ({ key: `incoming/${prefix}/${String(i).padStart(3, '0')}.jpg`, bytes: await readPhoto(from + i) })));

/** Waits for every webhook (a timeout is a finding, not a crash), then audits. */
async function settle(stack: LocalStack, keys: readonly string[], timeoutMs: number): Promise<Audit> {
  await waitForWebhooks(stack.receiver, keys, timeoutMs).catch((err: Error) => log(`  ${err.message}`));
  return auditRun(stack, keys);
}

function row(scenario: string, injected: string, keys: readonly string[], audit: Audit, started: number, extra = true): ScenarioRow {
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

async function workerKilled(): Promise<ScenarioRow> {
  const started = performance.now();
  const stack = await startLocalStack({ ...stackDefaults, worker: false, visibilitySeconds: 10 });
  const first = spawnWorker(stack, { visibilitySeconds: 10, batchSize: 4, threads: THREADS });
  let second: ReturnType<typeof spawnWorker> | undefined;
  try {
    const uploads = await photos('kill', 16, 0);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    await first.waitFor(() => first.count('job succeeded') >= 2, 120_000, 'two finished jobs');
    first.kill('SIGKILL');
    await first.exited;
    const before = first.count('job succeeded');
    second = spawnWorker(stack, { visibilitySeconds: 10, batchSize: 4, threads: THREADS });
    const keys = uploads.map((u) => u.key);
    const audit = await settle(stack, keys, 180_000);
    // Jobs the killed process held: re-done (attempts > 1), or found committed and only re-announced.
    const redone = [...audit.results.values()].filter((r) => r.attempts > 1).length;
    const reannounced = second.count('job duplicate');
    return row(
      'worker SIGKILL mid-batch',
      `1 kill -9 after ${before} of ${keys.length} jobs; the new process re-did ${redone} it held and re-announced ${reannounced} it had committed`,
      keys,
      audit,
      started,
    );
  } finally {
    if (first.process.exitCode === null && first.process.signalCode === null) first.kill('SIGKILL');
    second?.kill('SIGTERM');
    await second?.exited;
    await stack.stop();
  }
}

async function notifyCrashed(): Promise<ScenarioRow> {
  const started = performance.now();
  let crashes = 0;
  const wrapNotify = (handler: SqsLambdaHandler): SqsLambdaHandler => async (event, context) => {
    if (crashes >= 3) return handler(event, context);
    crashes++;
    const half: SQSEvent = { Records: event.Records.slice(0, Math.ceil(event.Records.length / 2)) };
    await handler(half, context);
    throw new Error('notify crashed mid-batch (injected)');
  };
  const stack = await startLocalStack({ ...stackDefaults, visibilitySeconds: 3, wrapNotify });
  try {
    const uploads = await photos('notify-crash', 8, 20);
    const keys = uploads.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    const audit = await settle(stack, keys, 120_000);
    await waitUntil(() => stack.receiver.duplicates >= crashes, 30_000, 'the crashed batches re-sent').catch(() => undefined);
    return row('notify dies mid-batch', `${crashes} crashes after sending half a batch`, keys, { ...audit, webhookRedeliveries: stack.receiver.duplicates }, started);
  } finally {
    await stack.stop();
  }
}

async function emulatorRestarted(): Promise<ScenarioRow & { outage: { workerReceives: number; notifyReceives: number; listings: number; seconds: number } }> {
  const started = performance.now();
  const OUTAGE_MS = 5000;
  let emulator = await startEmulator();
  const connection = { region: 'us-east-1', endpoint: emulator.endpoint };
  const s3 = createS3Client(connection);
  const sqs = createSqsClient(connection);
  const resources = await provisionResources(s3, sqs, { visibilitySeconds: 5 });
  const jobsCalls = new FaultInjector({ methods: [] });
  const storeCalls = new FaultInjector({ methods: [] });
  const stack = await startLocalStack({
    ...stackDefaults,
    endpoint: emulator.endpoint,
    visibilitySeconds: 5,
    overrides: {
      jobs: new FaultyJobQueue(new SqsJobQueue<SegmentJob>(sqs, resources.jobsQueueUrl), jobsCalls, 'jobs'),
      store: new FaultyObjectStore(new S3ObjectStore(s3), storeCalls),
    },
  });
  let notifyReceives = 0;
  stack.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ReceiveMessageCommand') notifyReceives++;
      return next(args);
    },
    { step: 'initialize', name: 'countReceives' },
  );
  try {
    const before = await photos('restart-before', 3, 40);
    await uploadAll(stack.store, stack.resources.bucket, before);
    await settle(stack, before.map((u) => u.key), 120_000);
    const counts = [jobsCalls.callsOf('receive'), notifyReceives, storeCalls.callsOf('list')] as const;
    await emulator.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const outage = {
      workerReceives: jobsCalls.callsOf('receive') - counts[0],
      notifyReceives: notifyReceives - counts[1],
      listings: storeCalls.callsOf('list') - counts[2],
      seconds: OUTAGE_MS / 1000,
    };
    emulator = await startEmulator({ port: emulator.port });
    await provisionResources(stack.s3, stack.sqs, { visibilitySeconds: 5 });
    const after = await photos('restart-after', 3, 43);
    const keys = after.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, after);
    const audit = await settle(stack, keys, 120_000);
    const tight = outage.workerReceives > 10 || outage.notifyReceives > 12 || outage.listings > 12;
    return {
      ...row(
        'emulator restart (state lost)',
        `${outage.seconds} s outage; attempts meanwhile: worker ${outage.workerReceives} receives, notify ${outage.notifyReceives}, S3 listing ${outage.listings}`,
        keys,
        audit,
        started,
        !tight,
      ),
      outage,
    };
  } finally {
    await stack.stop();
    s3.destroy();
    sqs.destroy();
    await emulator.stop();
  }
}

async function transient(name: string, plan: FaultPlan, from: number): Promise<ScenarioRow> {
  const started = performance.now();
  const run = await startStackWithFaults(plan, { ...stackDefaults, visibilitySeconds: 3, retryBaseSeconds: 1, maxReceiveCount: 10 });
  try {
    const uploads = await photos(`flaky-${from}`, 10, from);
    const keys = uploads.map((u) => u.key);
    await uploadAll(new S3ObjectStore(run.stack.s3), run.stack.resources.bucket, uploads);
    const audit = await settle(run.stack, keys, 180_000);
    const { store, jobs, events } = run.faults;
    const detail = (f: FaultInjector) =>
      Object.entries(f.counts)
        .filter(([, c]) => c.faults > 0)
        .map(([m, c]) => `${m} ${c.faults}`)
        .join(', ');
    return row(
      name,
      `${store.faults + jobs.faults + events.faults} faults: S3 (${detail(store)}); jobs queue (${detail(jobs)}); events queue (${detail(events)})`,
      keys,
      audit,
      started,
    );
  } finally {
    await run.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input: everything at once through one stack.

interface InputRow {
  input: string;
  expected: string;
  endedAs: string;
  ok: boolean;
  ended: boolean;
}

async function badInputRun(): Promise<{ rows: InputRow[]; scenario: ScenarioRow; svgFetches: number }> {
  const started = performance.now();
  const probe = await startHttpRecorder();
  const stack = await startLocalStack(stackDefaults);
  try {
    const inputs = await badInputs({ photo: await readPhoto(100), probeUrl: probe.origin });
    // Key names that break naive encoding or path handling, and what each must end as.
    const oddKeys: [key: string, expected: string][] = [
      ['incoming/odd names/my photo.jpg', 'succeeded'],
      ['incoming/a+b=c&d.jpg', 'succeeded'],
      ['incoming/100% real.jpg', 'succeeded'],
      ['incoming/фото ☃ 写真.jpg', 'succeeded'],
      ['incoming/.../three dots.jpg', 'succeeded'],
      // URL parsers collapse "." and ".." segments: no link could address its results.
      ['incoming/../escape.jpg', 'failed UNSUPPORTED_KEY'],
    ];
    const uploads: Upload[] = [
      ...inputs.map((i) => ({ key: `incoming/bad/${i.file}`, bytes: i.bytes })),
      ...(await Promise.all(oddKeys.map(async ([key], i) => ({ key, bytes: await readFile(photoPath(101 + i)) })))),
    ];
    const keys = uploads.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    const audit = await settle(stack, keys, 240_000);
    const byKey = deliveriesByKey(stack.receiver);
    const describe = (key: string) => {
      const r = audit.results.get(key);
      if (!r) return 'no result';
      return r.status === 'succeeded' ? `succeeded ${r.width}x${r.height}` : `failed ${r.error?.code}`;
    };
    const rows: InputRow[] = [
      ...inputs.map((i) => {
        const key = `incoming/bad/${i.file}`;
        const expected = i.expected.status === 'succeeded' ? `succeeded ${i.expected.width}x${i.expected.height}` : `failed ${i.expected.code}`;
        const r = audit.results.get(key);
        const messageOk =
          i.expected.status === 'succeeded' ||
          (typeof i.expected.message === 'string' ? r?.error?.message === i.expected.message : i.expected.message.test(r?.error?.message ?? ''));
        return { input: `${i.name} (${i.note})`, expected, endedAs: describe(key), ok: describe(key) === expected && messageOk, ended: !!r && byKey.has(key) };
      }),
      ...oddKeys.map(([key, expected]) => ({
        input: `key ${JSON.stringify(key.slice('incoming/'.length))}`,
        expected,
        endedAs: describe(key).replace(/ \d+x\d+$/, ''),
        ok: describe(key).replace(/ \d+x\d+$/, '') === expected && webhookData(byKey.get(key)![0]!).source.key === key,
        ended: audit.results.has(key) && byKey.has(key),
      })),
    ];
    return { rows, scenario: row('bad input, all at once', `${rows.length} awkward inputs + key names`, keys, audit, started), svgFetches: probe.requests.length };
  } finally {
    await stack.stop();
    await probe.close();
  }
}

// ---------------------------------------------------------------------------------------------
// SSRF: the production guard (https only, no loopback) over every vector; redirects through the
// HTTP client against a local redirector and a canary that must never be called.

interface SsrfRow {
  vector: string;
  url: string;
  blocked: boolean;
  how: string;
}

async function ssrf(): Promise<{ rows: SsrfRow[]; controlsAllowed: number; controls: number }> {
  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    const answers = TEST_RESOLVER_ANSWERS[host];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const guard = createUrlGuard({ resolve });
  const rows: SsrfRow[] = [];
  for (const v of SSRF_VECTORS) {
    try {
      const pinned = await guard.check(v.url);
      rows.push({ vector: v.name, url: v.url, blocked: false, how: `ALLOWED (pinned ${pinned.address})` });
    } catch (err) {
      rows.push({ vector: v.name, url: v.url, blocked: true, how: `${(err as { code?: string }).code}: ${(err as Error).message.replace(/^Refusing to call \S+ : /, '')}` });
    }
  }

  // DNS rebinding: public when checked, private afterwards. The connection's lookup is pinned.
  let answers = 0;
  const rebinding = createUrlGuard({
    resolve: async () => [{ address: answers++ === 0 ? '93.184.215.14' : '10.0.0.1', family: 4 }],
  });
  const pinned = await rebinding.check('https://rebind.example/hooks');
  const connectsTo = await new Promise<string>((res) =>
    pinnedLookup(pinned.hostname, pinned.address, pinned.family)('rebind.example', {}, (_e, address) => res(String(address))),
  );
  rows.push({
    vector: 'DNS rebinding (public, then 10.0.0.1)',
    url: 'https://rebind.example/hooks',
    blocked: classifyAddress(connectsTo) === undefined,
    how: `pinned: the connection goes to ${connectsTo}, whatever DNS says later`,
  });

  // Redirects: the client returns a 3xx as is; the canary it points at must see nothing.
  const canary = await startHttpRecorder();
  for (const [name, location] of [
    ['redirect to metadata (302)', 'http://169.254.169.254/latest/meta-data/'],
    ['redirect to a canary (307)', `${canary.origin}/followed`],
  ] as const) {
    const redirector = await startHttpRecorder(() => ({ status: name.includes('307') ? 307 : 302, headers: { location } }));
    try {
      const local = createUrlGuard({ allowHttp: true, allowLoopback: true }); // local mode, so the redirector itself may be called
      const res = await createHttpClient({ timeoutMs: 5000 }).post(await local.check(`${redirector.origin}/hooks`), '{}', {
        headers: { 'content-type': 'application/json' },
      });
      const err = responseError(redirector.origin, res.status, res.headers, new Date());
      rows.push({
        vector: name,
        url: location,
        blocked: res.status >= 300 && res.status < 400 && canary.requests.length === 0 && !err.retryable,
        how: `${err.code}: ${err.message.replace(/^Expected a 2xx response from \S+ but received /, 'received ')} (permanent)`,
      });
    } finally {
      await redirector.close();
    }
  }
  await canary.close();

  let controlsAllowed = 0;
  for (const url of SSRF_CONTROLS) if (await guard.check(url).then(() => true, () => false)) controlsAllowed++;
  return { rows, controlsAllowed, controls: SSRF_CONTROLS.length };
}

// ---------------------------------------------------------------------------------------------
// Burst: N photos at once, the worker a separate process whose RSS is sampled every 500 ms.

interface BurstFigures {
  photos: number;
  seconds: number;
  imagesPerSecond: number;
  lost: number;
  duplicates: number;
  invalid: number;
  peakRssMB: number;
  rssSlopeMBPerMin: number;
  rssAtQuartersMB: number[];
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function burst(n: number): Promise<BurstFigures> {
  const stack = await startLocalStack({ ...stackDefaults, worker: false, pollMs: 200 });
  const worker = spawnWorker(stack, { visibilitySeconds: 120, batchSize: 4, threads: THREADS });
  try {
    await worker.waitFor(() => worker.count('worker ready') > 0, 120_000, 'the worker to load the model');
    const bodies = new Map<string, Buffer>();
    const uploads: Upload[] = [];
    for (let i = 0; i < n; i++) {
      const path = photoPath(i);
      if (!bodies.has(path)) bodies.set(path, await readFile(path));
      uploads.push({ key: `incoming/burst/${String(i).padStart(5, '0')}.jpg`, bytes: bodies.get(path)! });
    }
    const keys = uploads.map((u) => u.key);
    const samples: { t: number; rss: number }[] = [];
    const t0 = performance.now();
    const timer = setInterval(() => void rssOf(worker.process.pid!).then((rss) => rss > 0 && samples.push({ t: (performance.now() - t0) / 60_000, rss })), 500);
    const progress = setInterval(() => log(`  burst: ${stack.receiver.deliveries.length}/${n} · worker RSS ${(samples.at(-1)?.rss ?? 0).toFixed(0)} MB`), 15_000);
    await uploadAll(stack.store, stack.resources.bucket, uploads, 16);
    await waitForWebhooks(stack.receiver, keys, 60_000 + n * 3_000).catch((err: Error) => log(`  ${err.message}`));
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    clearInterval(progress);
    const audit = await auditRun(stack, keys);
    // Least-squares slope of RSS over time, second half of the run.
    const half = samples.filter((s) => s.t >= samples.at(-1)!.t / 2);
    const mt = half.reduce((a, s) => a + s.t, 0) / half.length;
    const mr = half.reduce((a, s) => a + s.rss, 0) / half.length;
    const slope = half.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / Math.max(1e-9, half.reduce((a, s) => a + (s.t - mt) ** 2, 0));
    const at = (q: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.rss);
    return {
      photos: n,
      seconds: Math.round(seconds),
      imagesPerSecond: Math.round((n / seconds) * 100) / 100,
      lost: audit.lost.length,
      duplicates: audit.duplicates.length,
      invalid: audit.invalid.length,
      peakRssMB: Math.round(Math.max(...samples.map((s) => s.rss))),
      rssSlopeMBPerMin: Math.round(slope * 10) / 10,
      rssAtQuartersMB: [0.25, 0.5, 0.75, 0.99].map(at),
    };
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const table = (headers: string[], rows: (string | number | boolean)[][]) =>
  [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');

/** A scenario that throws is a finding too: it shows as not survived, with the reason. */
async function attempt<T extends ScenarioRow>(scenario: string, run: () => Promise<T>): Promise<T | ScenarioRow> {
  log(`${scenario}…`);
  try {
    return await run();
  } catch (err) {
    log(`  ${scenario} failed: ${(err as Error).stack}`);
    const message = (err as Error).message;
    return { scenario, injected: `did not complete: ${message}`, jobs: 0, lost: 0, duplicates: 0, invalid: 0, webhooks: 0, redelivered: 0, seconds: 0, survived: false };
  }
}

const benchStarted = performance.now();
const scenarios: ScenarioRow[] = [];
scenarios.push(await attempt('worker SIGKILL mid-batch', workerKilled));
scenarios.push(await attempt('notify dies mid-batch', notifyCrashed));
const restart = await attempt('emulator restart (state lost)', emulatorRestarted);
scenarios.push(restart);
scenarios.push(
  await attempt('transient S3/SQS faults, every Nth call', () => transient('transient S3/SQS faults, every Nth call', {
    store: { everyNth: 3, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 10, seed: 11 },
    jobs: { everyNth: 4, methods: ['sendBatch', 'receive', 'delete', 'release'], timing: 'mixed', maxFaults: 8, seed: 12 },
    events: { everyNth: 2, methods: ['sendBatch'], timing: 'mixed', maxFaults: 5, seed: 13 },
  }, 200)),
);
scenarios.push(
  await attempt('transient S3/SQS faults, p = 0.2 (seeded)', () => transient('transient S3/SQS faults, p = 0.2 (seeded)', {
    store: { probability: 0.2, methods: ['get', 'head', 'put'], timing: 'mixed', maxFaults: 12, seed: 21 },
    jobs: { probability: 0.2, timing: 'mixed', maxFaults: 10, seed: 22 },
    events: { probability: 0.3, timing: 'mixed', maxFaults: 5, seed: 23 },
  }, 220)),
);
log('bad input…');
const bad = await badInputRun();
scenarios.push(bad.scenario);
log('SSRF vectors…');
const guard = await ssrf();
let burstFigures: BurstFigures | undefined;
if (BURST > 0) {
  log(`burst of ${BURST} photos…`);
  burstFigures = await burst(BURST);
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

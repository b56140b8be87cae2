/**
 * Bulk re-processing benchmark (issue "re-run millions of photos after a model upgrade").
 *
 *   npm run bench:reprocess -- [--n 10000] [--runs 3] [--concurrency 8] [--page-size 1000] [--checks index,head] [--in-process] [--json]
 *
 * Starts the emulator (in a process of its own, as `greenscreen dev` runs beside the CLI; with
 * --in-process, inside this one), creates N photos, then times `reprocessPrefix` (the use case
 * behind `greenscreen reprocess`, with a real checkpoint file) end to end, from the first LIST to
 * the last SendMessageBatch:
 *   (a) every photo stale (a new model version): list + stale check + enqueue  -> enqueuePerSec
 *   (b) every photo up to date (results + stale-index markers as the worker commits them):
 *       list + stale check, nothing to enqueue                                  -> staleCheckPerSec
 * each with the default check (index: LIST the worker's stale-index markers and options records)
 * and with --stale-check head (one HEAD of result.json per photo and, in (a), one HEAD of each
 * photo for its own options). Medians over --runs. --json ends the output with one JSON line.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { systemClock } from '#core/ports';
import type { ProvisionedResources } from '#local/provision';
import type { SegmentJob } from '#core/types';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import { jobIdFor, resultKeys } from '#core/results';
import { startProvisionedEmulator } from '#local/provision';
import { FileCheckpointStore } from '#reprocess/checkpoint';
import { mapConcurrent } from '#reprocess/concurrency';
import { reprocessPrefix, type ReprocessSummary } from '#reprocess/reprocess';
import type { StaleCheckMode } from '#reprocess/stale-check';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    'page-size': { type: 'string' },
    'in-process': { type: 'boolean' },
    checks: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const CHECKS = (values.checks ?? 'index,head').split(',') as StaleCheckMode[];
if (!CHECKS.every((c) => c === 'index' || c === 'head')) throw new Error(`Expected --checks index,head (or one of them) but received ${values.checks}`);
const N = Number(values.n ?? 10_000);
const RUNS = Number(values.runs ?? 3);
const CONCURRENCY = Number(values.concurrency ?? 8);
const PAGE_SIZE = Number(values['page-size'] ?? 1000);
for (const [name, v] of [['n', N], ['runs', RUNS], ['concurrency', CONCURRENCY], ['page-size', PAGE_SIZE]] as const) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`Expected --${name} to be a positive integer but received ${v}`);
}
const PREFIX = 'incoming/bench/';
const CURRENT = 'bench-current';
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const key = (i: number) => `${PREFIX}photo-${String(i).padStart(7, '0')}.jpg`;

// ---- the emulator --------------------------------------------------------------------------
interface RunningEmulator {
  endpoint: string;
  resources: ProvisionedResources;
  /** The emulator's process when it has one of its own (for its CPU time). */
  pid?: number;
  stop: () => Promise<void>;
}

async function emulatorInChild(): Promise<RunningEmulator> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'emulator-child.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`Expected the emulator process to start but it exited with ${code}`)));
  });
  const { endpoint, resources } = JSON.parse(line) as { endpoint: string; resources: ProvisionedResources };
  return {
    endpoint,
    resources,
    ...(child.pid ? { pid: child.pid } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

async function emulatorInProcess(): Promise<RunningEmulator> {
  return startProvisionedEmulator();
}

const emu = values['in-process'] ? await emulatorInProcess() : await emulatorInChild();
const conn = { region: 'us-east-1', endpoint: emu.endpoint };
const s3 = createS3Client(conn);
const sqs = createSqsClient(conn);
const store = new S3ObjectStore(s3);
const queue = new SqsMessageQueue<SegmentJob>(sqs, emu.resources.jobsQueueUrl);
const bucket = emu.resources.bucket;

// ---- setup: N photos, each with a result of model CURRENT committed as the worker does --------
// Setup is not what is measured: plain HTTP PUTs (the emulator does not check signatures) are
// several times cheaper than the SDK's, which matters on a machine shared with other work.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const { hostname, port } = new URL(emu.endpoint);
function seedPut(objectKey: string, body: string, contentType: string, metadata: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        hostname,
        port,
        method: 'PUT',
        path: `/${bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`,
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          ...Object.fromEntries(Object.entries(metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(String(res.headers.etag ?? '').replace(/"/g, ''))
            : reject(new Error(`Expected 200 from PUT ${objectKey} but received ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
/** The ResultStore over the plain PUTs above: seeding writes, it never reads. */
const seedOnly = (): never => {
  throw new Error('Expected the seeding store to be written to, never read');
};
const seededResults = new ObjectResultStore(
  {
    put: async (_bucket, objectKey, body, o) => ({ etag: await seedPut(objectKey, String(body), o.contentType, o.metadata) }),
    get: seedOnly,
    head: seedOnly,
    list: seedOnly,
    presignGet: seedOnly,
  },
  bucket,
);
const t = performance.now();
const indices = Array.from({ length: N }, (_, i) => i);
await mapConcurrent(indices, 64, async (i) => {
  const etag = await seedPut(key(i), `jpeg ${i}`, 'image/jpeg');
  const source = { bucket, key: key(i), etag, size: 0 };
  // Committed as the worker commits (#core's ResultStore): result.json with its metadata, then the
  // stale-index marker and the options record (a photo uploaded without options of its own)
  const jobId = jobIdFor(source, CURRENT);
  await seededResults.commit(
    {
      v: 1,
      jobId,
      status: 'succeeded',
      source,
      model: { name: 'tiramisu', version: CURRENT },
      outputs: resultKeys(key(i), jobId),
      timingsMs: {},
      attempts: 1,
      finishedAt: new Date(0).toISOString(),
    },
    { overrides: {} },
  );
});
agent.destroy();
// The emulator's ETags are what S3 gives: the MD5 of the bytes (checked once, through the SDK)
if ((await store.head(bucket, key(0)))?.etag !== createHash('md5').update('jpeg 0').digest('hex')) {
  throw new Error('Expected the emulator to store the seeded photos with MD5 ETags');
}
log(`setup: ${N} photos + ${N} results + ${N} markers + ${N} options records in ${((performance.now() - t) / 1000).toFixed(1)} s`);

/** CPU seconds (user + system) used so far by a process (Linux /proc; 0 elsewhere). */
async function processCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

interface Timed {
  summary: ReprocessSummary;
  /** CPU seconds this process (the reprocessor) used. */
  clientCpu: number;
  /** CPU seconds the emulator process used (0 when in-process: counted in clientCpu). */
  emulatorCpu: number;
}

async function queued(): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: emu.resources.jobsQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function once(modelVersion: string, staleCheck: StaleCheckMode): Promise<Timed> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-bench-reprocess-'));
  const checkpoints = new FileCheckpointStore(dir, {
    endpoint: emu.endpoint,
    bucket,
    prefix: PREFIX,
    modelVersion,
    force: false,
    queueUrl: emu.resources.jobsQueueUrl,
  });
  const cpu0 = process.cpuUsage();
  const emu0 = emu.pid ? await processCpuSeconds(emu.pid) : 0;
  const s = await reprocessPrefix(
    { store, queue, clock: systemClock, checkpoints },
    { bucket, prefix: PREFIX, modelVersion, maxBytes: 50_000_000, concurrency: CONCURRENCY, pageSize: PAGE_SIZE, staleCheck },
  );
  const cpu = process.cpuUsage(cpu0);
  const emulatorCpu = emu.pid ? (await processCpuSeconds(emu.pid)) - emu0 : 0;
  await rm(dir, { recursive: true, force: true });
  if (s.status !== 'completed' || s.listed !== N) throw new Error(`Expected a completed run over ${N} objects but got ${JSON.stringify(s)}`);
  return { summary: s, clientCpu: (cpu.user + cpu.system) / 1e6, emulatorCpu };
}

interface Row {
  case: string;
  check: StaleCheckMode;
  seconds: number[];
  clientCpu: number[];
  emulatorCpu: number[];
  requests: ReprocessSummary['requests'];
}
const newRow = (name: string, check: StaleCheckMode): Row => ({
  case: name,
  check,
  seconds: [],
  clientCpu: [],
  emulatorCpu: [],
  requests: { list: 0, staleList: 0, staleHead: 0, optionsList: 0, metadataHead: 0, sendBatch: 0 },
});
const record = (row: Row, t: Timed) => {
  row.seconds.push(t.summary.seconds);
  row.clientCpu.push(t.clientCpu);
  row.emulatorCpu.push(t.emulatorCpu);
  row.requests = t.summary.requests;
};
const rows: Row[] = [];
for (const check of CHECKS) {
  const a = newRow('(a) enqueue, all stale', check);
  const b = newRow('(b) stale check, all up to date', check);
  for (let r = 1; r <= RUNS; r++) {
    // (a): a model version no result has: every photo is stale
    const ta = await once(`bench-new-${check}-${r}`, check);
    const inQueue = await queued();
    if (ta.summary.enqueued !== N || inQueue !== N) {
      throw new Error(`Expected ${N} jobs enqueued but the run says ${ta.summary.enqueued} and the queue holds ${inQueue}`);
    }
    await sqs.send(new PurgeQueueCommand({ QueueUrl: emu.resources.jobsQueueUrl }));
    record(a, ta);
    // (b): the current model: every photo is up to date
    const tb = await once(CURRENT, check);
    if (tb.summary.upToDate !== N || tb.summary.enqueued !== 0) throw new Error(`Expected all ${N} up to date but got ${JSON.stringify(tb.summary)}`);
    record(b, tb);
    log(
      `${check} run ${r}: (a) ${(N / ta.summary.seconds).toFixed(0)} jobs/s [cpu ${ta.clientCpu.toFixed(2)} s + emulator ${ta.emulatorCpu.toFixed(2)} s], ` +
        `(b) ${(N / tb.summary.seconds).toFixed(0)} objects/s [cpu ${tb.clientCpu.toFixed(2)} s + emulator ${tb.emulatorCpu.toFixed(2)} s]`,
    );
  }
  rows.push(a, b);
}

s3.destroy();
sqs.destroy();
await emu.stop();

// ---- report --------------------------------------------------------------------------------
const perSec = (r: Row) => N / median(r.seconds);
/**
 * What the CPU time allows when each process has a core to itself (2 cores: reprocessor and
 * emulator run side by side): N / the busier process's CPU seconds. On a machine where other work
 * takes the CPU, wall-clock rates fall but this does not.
 */
const cpuBound = (r: Row) => N / Math.max(median(r.clientCpu), median(r.emulatorCpu), 1e-9);
const machine = `${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')}`;
const out = [
  `reprocess benchmark: ${N} objects, concurrency ${CONCURRENCY}, page size ${PAGE_SIZE}, ${RUNS} run(s) each, emulator ${values['in-process'] ? 'in this process' : 'in its own process'}`,
  `machine: ${machine}`,
  '',
  `${'case'.padEnd(34)}${'check'.padEnd(7)}${'median s'.padStart(9)}${'per second'.padStart(12)}${'cpu s'.padStart(8)}${'emu cpu s'.padStart(11)}${'cpu-bound/s'.padStart(13)}   requests (LIST sources / LIST markers / HEAD results / LIST options / HEAD photos / SendMessageBatch)`,
  ...rows.map(
    (r) =>
      `${r.case.padEnd(34)}${r.check.padEnd(7)}${median(r.seconds).toFixed(2).padStart(9)}${perSec(r).toFixed(0).padStart(12)}` +
      `${median(r.clientCpu).toFixed(2).padStart(8)}${median(r.emulatorCpu).toFixed(2).padStart(11)}${cpuBound(r).toFixed(0).padStart(13)}   ` +
      `${r.requests.list} / ${r.requests.staleList} / ${r.requests.staleHead} / ${r.requests.optionsList} / ${r.requests.metadataHead} / ${r.requests.sendBatch}`,
  ),
  '',
];
process.stdout.write(out.join('\n'));
const find = (check: StaleCheckMode, c: 'a' | 'b') => rows.find((r) => r.check === check && r.case.startsWith(`(${c})`));
const [aIndex, bIndex, aHead, bHead] = [find('index', 'a'), find('index', 'b'), find('head', 'a'), find('head', 'b')];
const rates = (a: Row | undefined, b: Row | undefined) =>
  a && b
    ? {
        enqueuePerSec: Math.round(perSec(a)),
        staleCheckPerSec: Math.round(perSec(b)),
        enqueueSeconds: Number(median(a.seconds).toFixed(3)),
        staleCheckSeconds: Number(median(b.seconds).toFixed(3)),
        cpuBound: { enqueuePerSec: Math.round(cpuBound(a)), staleCheckPerSec: Math.round(cpuBound(b)) },
      }
    : undefined;
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({
      n: N,
      ...(rates(aIndex, bIndex) ?? rates(aHead, bHead)),
      staleCheck: aIndex ? 'index' : 'head',
      ...(aIndex && aHead ? { head: rates(aHead, bHead) } : {}),
      runs: RUNS,
      concurrency: CONCURRENCY,
      pageSize: PAGE_SIZE,
      emulator: values['in-process'] ? 'in-process' : 'child-process',
      cpus: availableParallelism(),
      loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    })}\n`,
  );
}

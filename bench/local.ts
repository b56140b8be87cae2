/**
 * Local mode a user can trust (issue 11), in figures:
 * - `greenscreen dev` restarts with N queued uploads, killed -9 mid-run and stopped with SIGTERM
 *   mid-run: every upload ends in a result, none lost;
 * - `greenscreen run` on the odd-files corpus: exit 0 in M runs out of M;
 * - time from `greenscreen dev` start to ready (banner printed, fresh data dir and kept one).
 *
 *   npm run bench:local -- [--n 100] [--odd-runs 10] [--json]
 * With --json the last line is one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createS3Client } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { stackStatus, type StackStatus } from '#cli/stack-client';
import { CLI, distinctPhotos, freePort, REPO, startDev } from '#harness/dev-process';
import { writeOddCorpus } from '#harness/odd-corpus';

const { values } = parseArgs({ options: { n: { type: 'string' }, 'odd-runs': { type: 'string' }, json: { type: 'boolean' } } });
const N = Number(values.n ?? 100);
const ODD_RUNS = Number(values['odd-runs'] ?? 10);
const BUCKET = 'greenscreen-uploads';
const log = (line: string) => process.stderr.write(`${line}\n`);

const ended = (s: StackStatus) => s.jobs.filter((j) => j.status !== 'pending').length;

async function waitEnded(endpoint: string, atLeast: number, timeoutMs: number): Promise<StackStatus> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await stackStatus({ endpoint, bucket: BUCKET });
    if (ended(s) >= atLeast || performance.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function restartFigures() {
  const dataDir = await mkdtemp(join(tmpdir(), 'gs-bench-local-'));
  const port = await freePort();
  try {
    let dev = await startDev({ dataDir, port, args: ['--batch', '4'] });
    const readyFreshMs = dev.readyMs;
    const s3 = createS3Client({ region: 'us-east-1', endpoint: dev.endpoint });
    const store = new S3ObjectStore(s3);
    const photos = await distinctPhotos(N);
    for (const [i, body] of photos.entries()) await store.put(BUCKET, `incoming/bench-${String(i).padStart(4, '0')}.jpg`, body, { contentType: 'image/jpeg' });
    s3.destroy();
    log(`uploaded ${N}; waiting for ${Math.ceil(N / 10)} results, then kill -9`);
    let s = await waitEnded(dev.endpoint, Math.ceil(N / 10), 600_000);
    const queuedAtKill = N - ended(s);
    dev.child.kill('SIGKILL');
    await dev.exited;

    dev = await startDev({ dataDir, port, args: ['--batch', '4'] });
    const readyKeptMs = dev.readyMs;
    log(`restarted after kill -9 with ${queuedAtKill} not ended (${/found:.*/.exec(dev.output())?.[0] ?? ''}); SIGTERM at half`);
    s = await waitEnded(dev.endpoint, Math.ceil(N / 2), 600_000);
    const queuedAtTerm = N - ended(s);
    dev.child.kill('SIGTERM');
    const termExit = await dev.exited;

    dev = await startDev({ dataDir, port, args: ['--batch', '4'] });
    log(`restarted after SIGTERM (exit ${termExit}) with ${queuedAtTerm} not ended (${/found:.*/.exec(dev.output())?.[0] ?? ''})`);
    s = await waitEnded(dev.endpoint, N, 1_200_000);
    dev.child.kill('SIGTERM');
    await dev.exited;
    const succeeded = s.jobs.filter((j) => j.status === 'succeeded').length;
    return { n: N, restartQueued: queuedAtKill, queuedAtSigterm: queuedAtTerm, sigtermExit: termExit, restartSucceeded: succeeded, lost: N - ended(s), readyMs: Math.round(readyFreshMs), readyKeptMs: Math.round(readyKeptMs) };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function runOnce(input: string, out: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', input, '--out', out, '--quiet'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.resume();
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGSEGV' ? 139 : 128)));
  });
}

async function oddCorpusFigures() {
  const dir = await mkdtemp(join(tmpdir(), 'gs-bench-odd-'));
  try {
    await writeOddCorpus(join(dir, 'in'));
    const exits: number[] = [];
    for (let i = 0; i < ODD_RUNS; i++) {
      exits.push(await runOnce(join(dir, 'in'), join(dir, `out-${i}`)));
      log(`odd corpus run ${i + 1}/${ODD_RUNS}: exit ${exits.at(-1)}`);
    }
    return { oddCorpusRuns: ODD_RUNS, oddCorpusExit0: exits.filter((e) => e === 0).length, oddCorpusExits: exits };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const restart = await restartFigures();
const odd = await oddCorpusFigures();
const figures = { ...restart, ...odd, node: process.version };
log(
  `dev restart: ${N} uploads, killed -9 with ${restart.restartQueued} not ended, SIGTERM (exit ${restart.sigtermExit}) with ${restart.queuedAtSigterm} not ended: ` +
    `${restart.restartSucceeded} succeeded, ${restart.lost} lost\n` +
    `greenscreen run on the odd-files corpus: exit 0 in ${odd.oddCorpusExit0} of ${odd.oddCorpusRuns} runs\n` +
    `greenscreen dev ready in ${restart.readyMs} ms (fresh data dir), ${restart.readyKeptMs} ms (kept one, ${N} uploads)`,
);
if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);

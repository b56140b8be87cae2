/**
 * Issue 18: a script can rely on the CLI. Each command runs as a separate process, as a script
 * runs it: `run` exits 0 only when every photo succeeded, 3 when some failed with recorded reasons,
 * 4 when jobs never ended; `run --background FILE` uploads the image with the run; and every
 * command's --json stdout is JSON (one document, or JSON lines for `webhooks`), piped into JSON.parse.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, distinctPhotos, freePort, REPO, startDev, type DevProcess } from '#harness/dev-process';

let work: string;
let good: string;
let mixed: string;
let beach: string;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function greenscreen(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stdout as one JSON document: what `… --json | jq .` needs. */
function oneJson(r: Ran): Record<string, unknown> {
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`Expected stdout to be one JSON document but received:\n${r.stdout}\n(stderr: ${r.stderr.slice(-1500)})`, { cause: err });
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gs-script-'));
  const photos = await distinctPhotos(3, 40);
  good = join(work, 'good');
  mixed = join(work, 'mixed');
  await mkdir(good);
  await mkdir(mixed);
  for (const [i, p] of photos.entries()) {
    if (i < 2) await writeFile(join(good, `g${i}.jpg`), p);
    await writeFile(join(mixed, `m${i}.jpg`), p);
  }
  await writeFile(join(mixed, 'truncated.jpg'), photos[0]!.subarray(0, 200));
  beach = join(work, 'beach.jpg');
  await sharp({ create: { width: 300, height: 200, channels: 3, background: '#f0d090' } }).jpeg().toFile(beach);
}, 60_000);
afterAll(() => rm(work, { recursive: true, force: true }));

describe('greenscreen run: an exit status a script can branch on', () => {
  it('exits 3 when every job ended but a photo failed, and the --json summary names it', async () => {
    const r = await greenscreen('run', mixed, '--out', join(work, 'out-mixed'), '--json', '--threads', '1');
    expect(r.code, r.stderr.slice(-2000)).toBe(3);
    const s = oneJson(r);
    expect(s).toMatchObject({ total: 4, succeeded: 3, failed: 1, lost: 0, lostFiles: [] });
    expect(s.failures).toEqual([expect.objectContaining({ file: join(mixed, 'truncated.jpg'), code: 'INVALID_IMAGE' })]);
    expect(s.contactSheets).toEqual([join(work, 'out-mixed', 'contact-sheet.jpg')]);
  }, 180_000);

  it('exits 4 when jobs are still unfinished at --timeout, naming them', async () => {
    const r = await greenscreen('run', good, '--out', join(work, 'out-timeout'), '--json', '--timeout', '0.01', '--threads', '1');
    expect(r.code, r.stderr.slice(-2000)).toBe(4);
    const s = oneJson(r);
    expect(s).toMatchObject({ total: 2, lost: 2 });
    expect(s.lostFiles).toEqual([join(good, 'g0.jpg'), join(good, 'g1.jpg')]);
  }, 180_000);

  it('--background FILE is uploaded with the run: JPEG cut-outs on it, exit 0', async () => {
    const out = join(work, 'out-beach');
    const r = await greenscreen('run', good, '--out', out, '--format', 'jpeg', '--background', beach, '--threads', '1', '--quiet');
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/^2 succeeded, 0 failed, 0 lost of 2 /);
    const result = JSON.parse(await readFile(join(out, 'g0', 'result.json'), 'utf8')) as { status: string; output: { format: string; background: unknown } };
    expect(result.status).toBe('succeeded');
    expect(result.output).toMatchObject({ format: 'jpeg', background: { type: 'image', key: 'backgrounds/beach.jpg' } });
    expect((await sharp(join(out, 'g0', 'cutout.jpg')).metadata()).format).toBe('jpeg');
  }, 180_000);
});

describe('--json means stdout is JSON, on every command that has it', () => {
  let dev: DevProcess;
  let dataDir: string;
  let page: string;

  beforeAll(async () => {
    dataDir = join(work, 'dev');
    dev = await startDev({ dataDir, port: await freePort(), timeoutMs: 120_000 });
    page = /page: +(http:\/\/\S+)/.exec(dev.output())![1]!;
    const up = await greenscreen('upload', mixed, '--endpoint', dev.endpoint, '--quiet');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toBe('uploaded 4 file(s) to s3://greenscreen-uploads/incoming/\n');
    // Wait for the four jobs to end (the page API says so).
    for (const deadline = performance.now() + 120_000; performance.now() < deadline; ) {
      const list = (await (await fetch(new URL('api/jobs', page))).json()) as { counts: { succeeded: number; failed: number } };
      if (list.counts.succeeded + list.counts.failed === 4) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 240_000);
  afterAll(async () => {
    dev?.child.kill('SIGTERM');
    await dev?.exited;
  });

  it('run --json: one JSON line', async () => {
    // (the runs above parsed theirs; this one also checks nothing else reaches stdout with the page on)
    const r = await greenscreen('run', good, '--out', join(work, 'out-json'), '--json', '--threads', '1', '--web-port', '0');
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(oneJson(r)).toMatchObject({ total: 2, succeeded: 2 });
    expect(r.stderr).toContain('page: http://127.0.0.1:');
  }, 180_000);

  it('status --json (asking the dev process): one JSON object; exit 3 since a job failed', async () => {
    const r = await greenscreen('status', '--json', '--page', page);
    expect(r.code, r.stderr).toBe(3);
    const s = oneJson(r) as { source: string; jobs: { status: string; key: string }[] };
    expect(s.source).toBe('dev');
    expect(s.jobs.map((j) => j.status).sort()).toEqual(['failed', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('status --json (asking S3 and SQS): one JSON object', async () => {
    const r = await greenscreen('status', '--json', '--endpoint', dev.endpoint);
    expect(r.code, r.stderr).toBe(3);
    expect((oneJson(r) as { jobs: unknown[] }).jobs).toHaveLength(4);
  });

  it('webhooks --json: JSON lines, one per delivery', async () => {
    const r = await greenscreen('webhooks', '--json', '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('type');
  });

  it('reprocess --dry-run --json: one JSON object; the "would enqueue" lines go to stderr', async () => {
    const r = await greenscreen('reprocess', '--prefix', 'incoming/', '--force', '--dry-run', '--json', '--endpoint', dev.endpoint, '--checkpoint-dir', join(work, 'cp'));
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toMatchObject({ dryRun: true, wouldEnqueue: 4 });
    expect(r.stderr.match(/would enqueue s3:/g)).toHaveLength(4);
  }, 60_000);

  it('eval --json: one JSON line; the table goes to stderr', async () => {
    const set = join(work, 'set');
    for (const sub of ['images', 'masks']) await mkdir(join(set, sub), { recursive: true });
    const [photo] = await distinctPhotos(1, 70);
    const half = Buffer.alloc(160 * 224);
    half.fill(255, 0, half.length / 2);
    await writeFile(join(set, 'images', 'a.jpg'), photo!);
    await writeFile(join(set, 'masks', 'a.png'), await sharp(half, { raw: { width: 160, height: 224, channels: 1 } }).png().toBuffer());
    const r = await greenscreen('eval', set, '--json', '--quiet', '--threads', '1', '--out', join(work, 'eval-out'));
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toMatchObject({ n: 1, sets: { 'set/all': { n: 1 } } });
    expect(r.stderr).toMatch(/set\/all\s+1\s/);
    expect(existsSync(join(work, 'eval-out', 'set-all-worst.jpg'))).toBe(true);
  }, 120_000);
});

/**
 * `greenscreen dev` keeps what it accepted (issue 11): uploads, results, queued jobs and webhooks
 * survive kill -9 and SIGTERM; after a restart every job that had not ended is processed. The
 * user's own receiver (GREENSCREEN_SUBSCRIPTIONS) hears about every job; `status` and `webhooks`
 * show the state; `--fresh` starts empty. Runs the CLI as a separate process, as a user does.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { startWebhookReceiver, type WebhookReceiver } from '#local/webhook-receiver';
import { stackStatus, type StackStatus } from '#cli/stack-client';
import { CLI, distinctPhotos, freePort, listening, REPO, startDev, type DevProcess } from '#harness/dev-process';

const BUCKET = 'greenscreen-uploads';
const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

let dataDir: string;
let port: number;
let receiver: WebhookReceiver;
let dev: DevProcess | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gs-dev-'));
  port = await freePort();
  receiver = await startWebhookReceiver({ secret: SECRET });
  env = { GREENSCREEN_SUBSCRIPTIONS: JSON.stringify([{ prefix: 'incoming/', url: receiver.url, secrets: [SECRET] }]) };
});
afterEach(async () => {
  if (dev && dev.child.exitCode === null && dev.child.signalCode === null) {
    dev.child.kill('SIGKILL');
    await dev.exited;
  }
});
afterAll(async () => {
  await receiver?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function upload(endpoint: string, photos: Buffer[], offset: number): Promise<string[]> {
  const s3 = createS3Client({ region: 'us-east-1', endpoint });
  const store = new S3ObjectStore(s3);
  const keys: string[] = [];
  try {
    for (const [i, body] of photos.entries()) {
      const key = `incoming/photo-${String(i + offset).padStart(3, '0')}.jpg`;
      await store.put(BUCKET, key, body, { contentType: 'image/jpeg' });
      keys.push(key);
    }
  } finally {
    s3.destroy();
  }
  return keys;
}

async function waitFor(endpoint: string, done: (s: StackStatus) => boolean, timeoutMs: number): Promise<StackStatus> {
  const deadline = performance.now() + timeoutMs;
  let s = await stackStatus({ endpoint, bucket: BUCKET });
  while (!done(s)) {
    if (performance.now() > deadline) throw new Error(`Expected the stack to get there within ${timeoutMs} ms but status is ${JSON.stringify(s.queue)} ${s.jobs.map((j) => `${j.key}:${j.status}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 250));
    s = await stackStatus({ endpoint, bucket: BUCKET });
  }
  return s;
}

const ended = (s: StackStatus) => s.jobs.filter((j) => j.status !== 'pending').length;

function cli(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('greenscreen dev with a data directory', () => {
  it('loses nothing across kill -9 and SIGTERM, and processes every job that had not ended', async () => {
    // Arrange: 16 uploads, killed -9 once a few have results.
    dev = await startDev({ dataDir, port, env });
    const first = await upload(dev.endpoint, await distinctPhotos(16), 0);
    const before = await waitFor(dev.endpoint, (s) => ended(s) >= 2, 120_000);
    expect(before.jobs).toHaveLength(16);
    dev.child.kill('SIGKILL');
    expect(await dev.exited).toBe(137);

    // Act: restart on the same data directory.
    dev = await startDev({ dataDir, port, env });
    expect(dev.output()).toMatch(/found: +16 upload\(s\): \d+ with results, \d+ queued \(\d+ released from the stopped run\), \d+ resubmitted/);
    const afterKill = await waitFor(dev.endpoint, (s) => ended(s) === 16, 180_000);

    // Assert: every upload ended, and succeeded (they are all decodable photos).
    expect(afterKill.jobs.map((j) => j.key)).toEqual(first);
    expect(afterKill.jobs.every((j) => j.status === 'succeeded')).toBe(true);

    // Arrange: 6 more, then SIGTERM straight away (jobs queued and in flight).
    const more = await upload(dev.endpoint, await distinctPhotos(6, 100), 16);
    // `status` asks the dev process (its page API), which knows queued from running.
    const page = /page: +(http:\/\/\S+)/.exec(dev.output())![1]!;
    const live = await cli('status', '--page', page, '--json');
    expect(live.code).toBe(0);
    const liveStatus = JSON.parse(live.out) as StackStatus;
    expect(liveStatus.source).toBe('dev');
    expect(liveStatus.jobs).toHaveLength(22);
    const states = more.map((k) => liveStatus.jobs.find((j) => j.key === k)?.status);
    expect(states.every((st) => st === 'queued' || st === 'running' || st === 'succeeded'), String(states)).toBe(true);
    expect(states.some((st) => st === 'queued' || st === 'running'), String(states)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    expect(await listening(port)).toBe(false);

    dev = await startDev({ dataDir, port, env });
    const all = await waitFor(dev.endpoint, (s) => ended(s) === 22, 180_000);
    expect(all.jobs.filter((j) => j.status === 'succeeded')).toHaveLength(22);
    expect(all.queue).toEqual({ queued: 0, inProgress: 0 });

    // The user's receiver (GREENSCREEN_SUBSCRIPTIONS) heard about every job, signature verified.
    const heard = async () => new Set(receiver.deliveries.map((d) => (d.payload as { data: { source: { key: string } } }).data.source.key)).size;
    for (let i = 0; i < 100 && (await heard()) < 22; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await heard()).toBe(22);

    // `status` lists every job; `webhooks` shows the built-in receiver's deliveries, kept across restarts.
    const status = await cli('status', '--endpoint', dev.endpoint);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^22 upload\(s\): 22 succeeded, 0 failed, 0 pending/m);
    const jsonl = (await readFile(join(dataDir, 'webhooks.jsonl'), 'utf8')).split('\n').filter(Boolean);
    const keys = new Set(jsonl.map((l) => (JSON.parse(l) as { payload: { data: { source: { key: string } } } }).payload.data.source.key));
    expect(keys.size).toBe(22);
    const webhooks = await cli('webhooks', '--data-dir', dataDir);
    expect(webhooks.code).toBe(0);
    expect(webhooks.out).toContain(`${jsonl.length} deliveries`);
    expect(webhooks.out).toMatch(/job\.succeeded +incoming\/photo-000\.jpg/);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  }, 600_000);

  it('starts empty with --fresh', async () => {
    // Arrange: a data directory of its own that holds an upload and its result.
    const dir = await mkdtemp(join(tmpdir(), 'gs-dev-fresh-'));
    try {
      dev = await startDev({ dataDir: dir, port });
      await upload(dev.endpoint, await distinctPhotos(1), 0);
      await waitFor(dev.endpoint, (s) => ended(s) === 1, 120_000);
      dev.child.kill('SIGTERM');
      expect(await dev.exited).toBe(0);
      // Act
      dev = await startDev({ dataDir: dir, port, args: ['--fresh'] });
      // Assert
      expect(dev.output()).toMatch(/found: +0 upload\(s\)/);
      const s = await stackStatus({ endpoint: dev.endpoint, bucket: BUCKET });
      expect(s.jobs).toEqual([]);
      dev.child.kill('SIGTERM');
      expect(await dev.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

/**
 * The worker's liveness for the container health check: the heartbeat file (heartbeat.ts), the
 * check the image runs (healthcheck.ts, with plain node), and the poll loop that beats it
 * (worker.ts), in-process: it beats while the loop turns and stops when a job is stuck.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '#core/logger';
import type { Clock, MessageQueue, ReceivedMessage } from '#core/ports';
import type { JobEvent, SegmentJob } from '#core/types';
import { checkHeartbeat, FileHeartbeat, HEARTBEAT_MAX_AGE_SECONDS, type Heartbeat } from '#segment/heartbeat';
import { segmenterOnSession } from '#segment/inference';
import { TEST_CARD } from '#test/model-card';
import type { ModelSession } from '#segment/model-session';
import { SegmentWorker } from '#segment/worker';
import { InMemoryObjectStore } from '#test/fakes';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'greenscreen-heartbeat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('heartbeat file and check', () => {
  it('is healthy right after a beat, with the time in the file for people', () => {
    const path = join(dir, 'fresh');
    const at = new Date();

    new FileHeartbeat(path, () => at).beat();

    expect(checkHeartbeat(path, HEARTBEAT_MAX_AGE_SECONDS, new Date(at.getTime() + 1000))).toMatchObject({ healthy: true });
    expect(readFileSync(path, 'utf8')).toBe(`${at.toISOString()}\n`);
  });

  it('is unhealthy, saying how old it is, once the last beat is older than the limit', () => {
    const path = join(dir, 'stale');
    new FileHeartbeat(path).beat();
    const written = new Date(Date.now() - 300_000);
    utimesSync(path, written, written);

    expect(checkHeartbeat(path, 120, new Date(written.getTime() + 300_000))).toEqual({
      healthy: false,
      reason: `Expected a heartbeat at most 120 s old but ${path} was last written 300 s ago`,
    });
  });

  it('is unhealthy when no beat was ever written (the worker never reached its loop)', () => {
    const path = join(dir, 'never');

    expect(checkHeartbeat(path, 120, new Date())).toMatchObject({
      healthy: false,
      reason: expect.stringMatching(new RegExp(`^Expected a heartbeat file at ${path} but it cannot be read: ENOENT`)),
    });
  });

  it('writes at most every 5 s however often the loop turns', () => {
    const path = join(dir, 'throttled');
    let t = Date.parse('2026-01-01T00:00:00Z');
    const heartbeat = new FileHeartbeat(path, () => new Date(t));

    heartbeat.beat();
    t += 4_000;
    heartbeat.beat();
    const afterFour = readFileSync(path, 'utf8');
    t += 1_000;
    heartbeat.beat();

    expect(afterFour).toBe('2026-01-01T00:00:00.000Z\n');
    expect(readFileSync(path, 'utf8')).toBe('2026-01-01T00:00:05.000Z\n');
  });

  // The image runs the check with node alone (Node 24 strips the types): no tsx, no dependencies.
  const node24 = resolve(REPO_ROOT, 'node_modules/.bin/node');
  it.skipIf(!existsSync(node24))('healthcheck.ts runs under plain Node 24: exit 0 when fresh, 1 with the reason when missing', async () => {
    const run = (file: string) =>
      promisify(execFile)(node24, [resolve(REPO_ROOT, 'functions/segment/healthcheck.ts')], { env: { ...process.env, GREENSCREEN_HEARTBEAT_FILE: file } });
    const fresh = join(dir, 'for-healthcheck');
    new FileHeartbeat(fresh).beat();

    await expect(run(fresh)).resolves.toMatchObject({ stderr: '' });
    await expect(run(join(dir, 'missing'))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unhealthy: Expected a heartbeat file at') });
  });
});

const CARD = TEST_CARD;

const noEvents: MessageQueue<JobEvent> = {
  sendBatch: async () => ({ failed: [] }),
  receive: async () => [],
  delete: async () => undefined,
  extendVisibility: async () => undefined,
  release: async () => undefined,
};

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('SegmentWorker heartbeat', () => {
  it('beats on every turn of the loop, stops while a job is stuck past the stall limit, and beats again once it ends', async () => {
    // Arrange: one photo job whose inference hangs until released, a clock the test moves, and a
    // queue that hands out the job once and then answers empty polls.
    const store = new InMemoryObjectStore();
    const photo = await sharp({ create: { width: 40, height: 60, channels: 3, background: '#884422' } }).jpeg().toBuffer();
    const { etag } = await store.put('bucket', 'incoming/p.jpg', photo, { contentType: 'image/jpeg' });
    const job: SegmentJob = { v: 1, jobId: 'c'.repeat(32), source: { bucket: 'bucket', key: 'incoming/p.jpg', etag, size: photo.length }, modelVersion: 'test', enqueuedAt: new Date().toISOString() };
    let receives = 0;
    const deleted: string[] = [];
    const jobs: MessageQueue<SegmentJob> = {
      sendBatch: async () => ({ failed: [] }),
      async receive(): Promise<ReceivedMessage<SegmentJob>[]> {
        if (++receives === 3) return [{ messageId: 'm-1', receiptHandle: 'h-1', body: job, receiveCount: 1 }];
        await tick();
        return [];
      },
      delete: async (h) => void deleted.push(h),
      extendVisibility: async () => undefined,
      release: async () => undefined,
    };
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let inferring = false;
    const session: ModelSession = {
      provider: 'cpu',
      threadIds: [],
      async run(_input, dims) {
        inferring = true;
        await gate;
        return new Float32Array(dims[0] * dims[2] * dims[3]).fill(0.9);
      },
      release: async () => undefined,
    };
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(now) };
    let beats = 0;
    const heartbeat: Heartbeat = { beat: () => void beats++ };
    const worker = new SegmentWorker(
      jobs,
      { store, events: noEvents, segmenter: segmenterOnSession(session, CARD, { maxBatch: 4 }), clock, bucket: 'bucket', maxBytes: 1e7, maxPixels: 1e7 },
      { maxInFlight: 4, waitSeconds: 0, visibilitySeconds: 30, maxReceiveCount: 5, heartbeat, jobStallSeconds: 60 },
      createLogger('test', { silent: true }),
    );

    // Act 1: the loop turns; the job starts and hangs in inference.
    const running = worker.run();
    while (!inferring) await tick();
    const whileWorking = beats;
    // Act 2: past the stall limit, the loop keeps polling but must not beat.
    now += 61_000;
    const atStall = beats;
    const receivesBefore = receives;
    while (receives < receivesBefore + 10) await tick();
    const whileStuck = beats;
    // Act 3: the job ends.
    open();
    while (deleted.length === 0) await tick();
    const receivesAfter = receives;
    while (receives < receivesAfter + 3) await tick();
    worker.stop();
    await running;

    // Assert
    expect(whileWorking).toBeGreaterThanOrEqual(3);
    expect(whileStuck).toBe(atStall);
    expect(beats).toBeGreaterThan(whileStuck);
    expect(deleted).toEqual(['h-1']);
  });
});

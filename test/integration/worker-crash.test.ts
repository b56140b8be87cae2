/**
 * The segment worker killed with SIGKILL in the middle of a batch (a real separate process: the
 * ECS entry point functions/segment/main.ts), then a new one started: every job completes, every
 * result set is whole, and each job's webhook arrives with the same webhook-id however often it is
 * re-sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '#local/stack';
import { spawnWorker, type ChildWorker } from '#harness/child-worker';
import { readPhoto } from '#harness/images';
import { uploadAll, waitForWebhooks } from '#harness/pipeline';
import { expectAllSucceededOnce } from '#test/pipeline-assertions';

const VISIBILITY_SECONDS = 5;
const PHOTOS = 12;

let stack: LocalStack;
const children: ChildWorker[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ worker: false, visibilitySeconds: VISIBILITY_SECONDS, pollMs: 100 });
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.kill('SIGKILL');
  await stack?.stop();
}, 60_000);

describe('worker killed with SIGKILL mid-batch', () => {
  it('loses no job: a new worker finishes them, outputs whole, one webhook-id per job', async () => {
    // Arrange: a worker process and a burst of photos.
    const first = spawnWorker(stack, { visibilitySeconds: VISIBILITY_SECONDS, batchSize: 4 });
    children.push(first);
    const uploads = await Promise.all(
      Array.from({ length: PHOTOS }, async (_, i) => ({ key: `incoming/crash/${String(i).padStart(2, '0')}.jpg`, bytes: await readPhoto(i) })),
    );
    const keys = uploads.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, uploads);

    // Act: kill -9 as soon as the first job is done (the rest are in flight or queued).
    await first.waitFor(() => first.count('job succeeded') >= 1, 60_000, 'the first worker to finish a job');
    first.kill('SIGKILL');
    const killed = await first.exited;
    const finishedBeforeKill = first.count('job succeeded');
    const second = spawnWorker(stack, { visibilitySeconds: VISIBILITY_SECONDS, batchSize: 4 });
    children.push(second);
    await waitForWebhooks(stack.receiver, keys, 75_000);

    // Assert: the first worker really died mid-batch.
    expect(killed.signal).toBe('SIGKILL');
    expect(finishedBeforeKill).toBeLessThan(PHOTOS);
    // Nothing lost, nothing doubled, nothing half-written.
    const audit = await expectAllSucceededOnce(stack, keys);
    // The jobs the killed worker held came back after the visibility timeout and were re-done.
    expect([...audit.results.values()].filter((r) => r.attempts > 1).length).toBeGreaterThan(0);
    // One delivery per job after de-duplication by webhook-id; signatures all verified.
    expect(stack.receiver.deliveries).toHaveLength(PHOTOS);
    expect(stack.receiver.rejected).toBe(0);

    // The survivor drains and exits cleanly on SIGTERM (ECS stop).
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});

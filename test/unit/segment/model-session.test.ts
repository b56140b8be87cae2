import { describe, expect, it } from 'vitest';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { createModelSession } from '#segment/model-session';

const onLinux = process.platform === 'linux';
const DYING_HOST = new URL('../../fixtures/model-host-dies.mjs', import.meta.url);

describe('createModelSession (inference on its own thread)', () => {
  it('keeps the event loop running while a batch is inferred', async () => {
    // Arrange: a batch of 4 at serving size takes hundreds of ms on a CPU.
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    const dims = [4, 3, 320, 224] as const;
    const input = new Float32Array(4 * 3 * 320 * 224).fill(0.1);
    await session.run(input, dims); // warm-up
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);

    // Act
    const t0 = performance.now();
    const out = await session.run(input, dims);
    const ms = performance.now() - t0;
    clearInterval(timer);
    await session.release();

    // Assert: the timer fired throughout (a blocked loop would fire it at most once).
    expect(out.length).toBe(4 * 320 * 224);
    expect(ticks).toBeGreaterThan(Math.min(20, ms / 10));
  });

  it.runIf(onLinux)('reports the OS threads that run inference (not the main thread)', async () => {
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 2 });
    const tasks = (await import('node:fs')).readdirSync('/proc/self/task').map(Number);
    await session.release();

    expect(session.threadIds.length).toBeGreaterThanOrEqual(1);
    expect(session.threadIds).not.toContain(process.pid);
    for (const tid of session.threadIds) expect(tasks).toContain(tid);
  });

  it('rejects later runs with a retryable ModelError once released', async () => {
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    await session.release();

    await expect(session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])).rejects.toMatchObject({
      code: 'MODEL_ERROR',
      retryable: true,
    });
  });

  it('turns an input the model cannot take into a retryable ModelError naming the batch', async () => {
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    const wrong = session.run(new Float32Array(2 * 32 * 32), [1, 2, 32, 32]); // 2 channels, model wants 3
    await expect(wrong).rejects.toThrow(/Inference failed for a batch of 1 at 32x32/);
    // The thread survives a failed run.
    const ok = await session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
    await session.release();
    expect(ok.length).toBe(32 * 32);
  });

  it('reports a thread that dies on its own once, and fails the run in flight and every later one', async () => {
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1, host: DYING_HOST });
    const failures: Error[] = [];
    session.onFailure!((err) => failures.push(err));

    const inFlight = session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);

    await expect(inFlight).rejects.toMatchObject({ code: 'MODEL_ERROR', retryable: true, message: 'The inference thread stopped: exit code 3' });
    await expect(session.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])).rejects.toThrow(/inference thread stopped/);
    expect(failures.map((e) => e.message)).toEqual(['The inference thread stopped: exit code 3']);
  });

  it('does not report a failure when the session is released on purpose', async () => {
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    const failures: Error[] = [];
    session.onFailure!((err) => failures.push(err));

    await session.release();

    expect(failures).toEqual([]);
  });
});

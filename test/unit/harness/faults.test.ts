/** The fault injectors that the fault tests and `bench:faults` rely on: deterministic, bounded, counted. */
import { describe, expect, it } from 'vitest';
import { QueueError, StorageError } from '#core/errors';
import { FaultInjector, FaultyMessageQueue, FaultyObjectStore, seededRandom } from '#harness/faults';
import { InMemoryObjectStore } from '#test/fakes';
import type { MessageQueue } from '#core/ports';

const pattern = (injector: FaultInjector, calls: number) =>
  Array.from({ length: calls }, () => injector.next('m') ?? '-').join(' ');

describe('FaultInjector', () => {
  it('fails every Nth call, up to maxFaults', () => {
    const injector = new FaultInjector({ everyNth: 3, maxFaults: 2 });
    expect(pattern(injector, 10)).toBe('- - before - - before - - - -');
    expect(injector.faults).toBe(2);
    expect(injector.calls).toBe(10);
  });

  it('draws the same faults from the same seed', () => {
    const a = pattern(new FaultInjector({ probability: 0.3, seed: 42, timing: 'mixed' }), 50);
    const b = pattern(new FaultInjector({ probability: 0.3, seed: 42, timing: 'mixed' }), 50);
    const c = pattern(new FaultInjector({ probability: 0.3, seed: 43, timing: 'mixed' }), 50);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toContain('before');
    expect(a).toContain('after');
  });

  it('counts calls of every method but faults only the listed ones', () => {
    const injector = new FaultInjector({ everyNth: 1, methods: ['put'] });
    expect(injector.next('get')).toBeUndefined();
    expect(injector.next('put')).toBe('before');
    expect(injector.counts).toEqual({ get: { calls: 1, faults: 0 }, put: { calls: 1, faults: 1 } });
  });

  it('makes uniform numbers in [0, 1)', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 1000 }, random);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((a, b) => a + b) / values.length).toBeCloseTo(0.5, 1);
  });
});

describe('FaultyObjectStore', () => {
  it('fails before the call (nothing written) or after it (written, but the caller hears a failure)', async () => {
    const inner = new InMemoryObjectStore();
    const before = new FaultyObjectStore(inner, new FaultInjector({ everyNth: 1, timing: 'before' }));
    const after = new FaultyObjectStore(inner, new FaultInjector({ everyNth: 1, timing: 'after' }));

    await expect(before.put('b', 'k1', 'x', { contentType: 'text/plain' })).rejects.toBeInstanceOf(StorageError);
    await expect(after.put('b', 'k2', 'x', { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'STORAGE_ERROR', retryable: true });

    expect(await inner.head('b', 'k1')).toBeUndefined();
    expect(await inner.head('b', 'k2')).toBeDefined();
  });
});

describe('FaultyMessageQueue', () => {
  it('reports refused entries from sendBatch, as the SQS adapter does, and throws QueueError elsewhere', async () => {
    const sent: string[] = [];
    const inner: MessageQueue<string> = {
      sendBatch: async (messages) => {
        sent.push(...messages.map((m) => m.body));
        return { failed: [] };
      },
      receive: async () => [],
      delete: async () => undefined,
      extendVisibility: async () => undefined,
      release: async () => undefined,
    };
    const queue = new FaultyMessageQueue(inner, new FaultInjector({ everyNth: 1, timing: 'after' }), 'jobs');

    const res = await queue.sendBatch([{ id: '0', body: 'hello' }]);

    expect(res.failed).toEqual([{ id: '0', reason: 'InternalError: injected fault on jobs' }]);
    expect(sent).toEqual(['hello']); // it went out all the same
    await expect(queue.delete('r')).rejects.toBeInstanceOf(QueueError);
  });
});

import { describe, expect, it } from 'vitest';
import { mapConcurrent, readAhead, TaskPool } from '#reprocess/concurrency';

const tick = () => new Promise((r) => setImmediate(r));

describe('mapConcurrent', () => {
  it('keeps input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let max = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (x) => {
      max = Math.max(max, ++inFlight);
      for (let i = 0; i < x; i++) await tick();
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(max).toBe(2);
  });
});

describe('readAhead', () => {
  it('pulls up to `depth` items before the consumer asks', async () => {
    const pulled: number[] = [];
    async function* source() {
      for (let i = 0; i < 5; i++) {
        pulled.push(i);
        yield i;
      }
    }
    const it = readAhead(source(), 3)[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    await tick();
    expect(pulled.length).toBeGreaterThanOrEqual(3);
    await it.return(undefined);
  });

  it('stops the source when the consumer stops, and ignores a read-ahead that then fails', async () => {
    let finalized = false;
    async function* source() {
      try {
        yield 1;
        yield 2;
        throw new Error('late failure');
      } finally {
        finalized = true;
      }
    }
    for await (const x of readAhead(source(), 2)) if (x === 1) break;
    expect(finalized).toBe(true);
  });

  it('passes a failure on to the consumer', async () => {
    async function* source() {
      yield 1;
      throw new Error('boom');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of readAhead(source(), 2)) seen.push(x);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1]);
  });
});

describe('TaskPool', () => {
  it('runs at most `limit` tasks at once; drain waits for all and rethrows the first failure', async () => {
    const pool = new TaskPool(2);
    let max = 0;
    const done: number[] = [];
    for (let i = 0; i < 6; i++) {
      await pool.run(async () => {
        max = Math.max(max, pool.size);
        await tick();
        if (i === 3) throw new Error('task 3 failed');
        done.push(i);
      });
    }
    await expect(pool.drain()).rejects.toThrow('task 3 failed');
    expect(max).toBeLessThanOrEqual(2);
    expect(done.sort()).toEqual([0, 1, 2, 4, 5]);
  });
});

import { describe, expect, it } from 'vitest';
import type { Clock } from '#core/ports';
import { TokenBucket } from '#reprocess/rate-limiter';

/** A clock that only moves when the limiter sleeps. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  const clock: Clock = { now: () => new Date(now) };
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    now += ms;
  };
  return { clock, sleep, sleeps, elapsed: () => now };
}

describe('TokenBucket', () => {
  it('lets a burst through, then holds the average to the rate', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket(100, { burst: 10, clock: t.clock, sleep: t.sleep });
    for (let i = 0; i < 101; i++) await bucket.acquire(10);
    // 10 tokens up front, then 1000 more at 100/s
    expect(t.elapsed()).toBeGreaterThanOrEqual(10_000);
    expect(t.elapsed()).toBeLessThanOrEqual(10_100);
  });

  it.each([
    [50, 10, 200],
    [2000, 10, 5],
  ])('at %i jobs/s, batches of %i wait %i ms each once the burst is spent', async (rate, n, ms) => {
    const t = fakeTime();
    const bucket = new TokenBucket(rate, { burst: n, clock: t.clock, sleep: t.sleep });
    await bucket.acquire(n);
    await bucket.acquire(n);
    expect(t.sleeps).toEqual([ms]);
  });

  it('refills with the time that passed between calls', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const bucket = new TokenBucket(10, { burst: 10, clock: { now: () => new Date(now) }, sleep: async (ms) => void sleeps.push(ms) });
    await bucket.acquire(10);
    now += 1000;
    await bucket.acquire(10);
    expect(sleeps).toEqual([]);
  });

  it('gives up waiting (false) when aborted', async () => {
    const t = fakeTime();
    const bucket = new TokenBucket(1, { burst: 10, clock: t.clock, sleep: t.sleep });
    await bucket.acquire(10);
    const ctl = new AbortController();
    ctl.abort();
    expect(await bucket.acquire(10, ctl.signal)).toBe(false);
  });

  it.each([
    [0, 'Expected a rate above 0 jobs/s but received 0'],
    [-5, 'Expected a rate above 0 jobs/s but received -5'],
  ])('refuses a rate of %s', (rate, message) => {
    expect(() => new TokenBucket(rate, { clock: fakeTime().clock })).toThrow(message);
  });

  it('refuses to take more at once than the bucket holds', async () => {
    const bucket = new TokenBucket(5, { burst: 5, clock: fakeTime().clock });
    await expect(bucket.acquire(10)).rejects.toThrow('Expected at most 5 tokens at once (the burst) but was asked for 10');
  });
});

/** A token bucket: at most `rate` jobs per second on average, bursts up to `burst`. */
import type { Clock } from '#core/ports';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export interface RateLimiter {
  /** Waits until `n` tokens are available and takes them; false when `signal` aborted the wait. */
  acquire(n: number, signal?: AbortSignal): Promise<boolean>;
}

export const unlimited: RateLimiter = { acquire: async (_n, signal) => !signal?.aborted };

export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  /**
   * @param rate tokens per second (> 0)
   * @param options.burst bucket size: at least the largest `n` ever asked for (default: one second's worth)
   */
  constructor(
    private readonly rate: number,
    options: { burst?: number; clock: Clock; sleep?: Sleep },
  ) {
    if (!(rate > 0)) throw new RangeError(`Expected a rate above 0 jobs/s but received ${rate}`);
    this.clock = options.clock;
    this.sleep = options.sleep ?? abortableSleep;
    this.burst = options.burst ?? Math.max(1, rate);
    this.tokens = this.burst;
    this.last = this.clock.now().getTime();
  }

  async acquire(n: number, signal?: AbortSignal): Promise<boolean> {
    if (n > this.burst) throw new RangeError(`Expected at most ${this.burst} tokens at once (the burst) but was asked for ${n}`);
    for (;;) {
      if (signal?.aborted) return false;
      const now = this.clock.now().getTime();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= n) {
        this.tokens -= n;
        return true;
      }
      await this.sleep(Math.ceil(((n - this.tokens) / this.rate) * 1000), signal);
    }
  }
}

import { describe, expect, it } from 'vitest';
import { Watermark } from '#reprocess/watermark';

describe('Watermark', () => {
  it('advances only over a contiguous settled prefix, in listing order', () => {
    const w = new Watermark();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((k) => w.add(k));
    w.settle(c!, 'enqueued');
    expect(w.lastKey).toBeUndefined();
    w.settle(a!, 'skipped');
    expect(w.lastKey).toBe('a');
    w.settle(b!, 'enqueued');
    expect(w.lastKey).toBe('c');
    expect(w.counts).toEqual({ listed: 3, enqueued: 2, skipped: 1 });
    expect(w.outstanding).toBe(1);
    w.settle(d!, 'enqueued');
    expect(w.lastKey).toBe('d');
  });

  it('never passes a key that was not settled (a failed send)', () => {
    const w = new Watermark();
    const entries = ['a', 'b', 'c'].map((k) => w.add(k));
    w.settle(entries[0]!, 'enqueued');
    w.settle(entries[2]!, 'enqueued');
    expect(w.lastKey).toBe('a');
  });

  it('starts from a checkpoint: its key and its totals', () => {
    const w = new Watermark({ lastKey: 'k9', counts: { listed: 10, enqueued: 7, skipped: 3 } });
    expect(w.lastKey).toBe('k9');
    w.settle(w.add('l0'), 'enqueued');
    expect(w.counts).toEqual({ listed: 11, enqueued: 8, skipped: 3 });
  });

  it('keeps memory at the in-flight window over a long run', () => {
    const w = new Watermark();
    for (let i = 0; i < 50_000; i++) w.settle(w.add(`k${i}`), 'enqueued');
    expect(w.outstanding).toBe(0);
    expect((w as unknown as { pending: unknown[] }).pending.length).toBeLessThan(10_000);
    expect(w.lastKey).toBe('k49999');
  });
});

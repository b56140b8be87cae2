/**
 * The contiguous "done" watermark. Keys are added in listing order and settled in any order (many
 * batches are in flight); the watermark is the last key such that it and every key before it are
 * settled. A key that failed stays unsettled, so the watermark never passes it.
 */
import type { ReprocessCounts } from './checkpoint.ts';

export type Settlement = 'enqueued' | 'skipped';

export interface WatermarkEntry {
  readonly key: string;
  settled?: Settlement;
}

export class Watermark {
  private readonly pending: WatermarkEntry[] = [];
  private head = 0;
  private key: string | undefined;
  private readonly totals: ReprocessCounts;

  /** Starts where a checkpoint left off (its key and totals). */
  constructor(start: { lastKey?: string; counts?: ReprocessCounts } = {}) {
    this.key = start.lastKey;
    this.totals = { listed: 0, enqueued: 0, skipped: 0, ...start.counts };
  }

  /** The next key in listing order. */
  add(key: string): WatermarkEntry {
    const entry: WatermarkEntry = { key };
    this.pending.push(entry);
    return entry;
  }

  settle(entry: WatermarkEntry, how: Settlement): void {
    entry.settled = how;
    while (this.head < this.pending.length && this.pending[this.head]!.settled) {
      const e = this.pending[this.head++]!;
      this.key = e.key;
      this.totals.listed++;
      this.totals[e.settled!]++;
    }
    // Drop the settled prefix now and then, so memory stays at the in-flight window.
    if (this.head > 4096 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The last key such that everything up to it is settled. */
  get lastKey(): string | undefined {
    return this.key;
  }

  /** Totals over the keys up to `lastKey`. */
  get counts(): ReprocessCounts {
    return { ...this.totals };
  }

  /** Keys added but not yet behind the watermark. */
  get outstanding(): number {
    return this.pending.length - this.head;
  }
}

/** A one-line progress display on stderr: redrawn in place on a TTY, a line every few seconds otherwise. */
export interface ProgressCounts {
  [label: string]: number;
}

export class Progress {
  private readonly started = performance.now();
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly title: string,
    private total: number | undefined,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  /** For work whose size is learnt on the way (a listing): the bar and ETA appear once it is known. */
  setTotal(total: number): void {
    this.total = total;
  }

  update(done: number, counts: ProgressCounts = {}): void {
    if (this.quiet) return;
    const now = performance.now();
    const tty = this.stream.isTTY === true;
    if (!tty && now - this.lastLine < 5000 && done !== this.total) return;
    this.lastLine = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = this.total && rate > 0 ? (this.total - done) / rate : undefined;
    const pct = this.total ? ` ${((100 * done) / Math.max(1, this.total)).toFixed(0).padStart(3)}%` : '';
    const bar = this.total ? ` [${'#'.repeat(Math.round((20 * done) / Math.max(1, this.total))).padEnd(20, '.')}]` : '';
    const extras = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(' · ');
    const line = `${this.title}${bar}${pct} ${done}${this.total !== undefined ? `/${this.total}` : ''}${extras ? ` · ${extras}` : ''} · ${rate.toFixed(1)}/s${eta !== undefined ? ` · ETA ${eta.toFixed(0)}s` : ''}`;
    if (tty) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

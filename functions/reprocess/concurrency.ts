/** Small concurrency tools: bounded parallel map, and read-ahead for async iterables. */

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * Runs up to `depth` items ahead of the consumer (e.g. lists page n+1 while page n is being sent).
 * Stops the source when the consumer stops; a read-ahead that fails after that is ignored.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const pending: Promise<IteratorResult<T>>[] = [];
  const pull = () => {
    const p = it.next();
    p.catch(() => undefined); // observed below, or abandoned on early exit
    pending.push(p);
  };
  let finished = false;
  try {
    for (let i = 0; i < Math.max(1, depth); i++) pull();
    for (;;) {
      const r = await pending.shift()!;
      if (r.done) {
        finished = true;
        return;
      }
      pull();
      yield r.value;
    }
  } finally {
    if (!finished) await it.return?.(undefined).catch(() => undefined);
  }
}

/**
 * Up to `limit` tasks at once: `run` waits for a free slot, `drain` for all of them. A task that
 * throws does not stop the others; `drain` rethrows the first such error once all have settled.
 */
export class TaskPool {
  private readonly running = new Set<Promise<void>>();
  private error: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.running.size;
  }

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    const p: Promise<void> = task()
      .catch((err: unknown) => {
        this.error ??= { err };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.race(this.running);
    if (this.error) throw this.error.err;
  }
}

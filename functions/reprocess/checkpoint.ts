/**
 * Where a re-processing run stands, so that re-running the same command after Ctrl-C, a crash or
 * SIGKILL continues instead of starting over.
 *
 * The record is small: the run id, and the last key (in listing order) such that it and every key
 * before it are done: enqueued, or deliberately skipped. ListObjectsV2 lists in key order, so a
 * resumed run lists with StartAfter = that key. Keys after it may have been sent too (several
 * batches are in flight at once, and the process may die between a send and the next checkpoint):
 * they are sent again on resume, with the same FIFO de-duplication id (derived from the job id and,
 * for --force, the run id recorded here), so SQS drops the repeat when it comes within its 5-minute
 * de-duplication window.
 *
 * The file is replaced atomically (write a temporary file, fsync, rename), so a kill mid-write
 * leaves the previous checkpoint, never a torn one. The temporary file such a kill leaves behind
 * (`<checkpoint>.<pid>.<random>.tmp`, its writer gone) is removed by the next run that loads or
 * clears the checkpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, StorageError } from '#core/errors';
import { isAlive } from '#core/processes';

/** What makes two invocations "the same command". */
export interface RunIdentity {
  endpoint: string;
  bucket: string;
  prefix: string;
  modelVersion: string;
  force: boolean;
  queueUrl: string;
}

export interface ReprocessCounts {
  listed: number;
  enqueued: number;
  skipped: number;
}

export interface Checkpoint {
  v: 1;
  identity: RunIdentity;
  runId: string;
  startedAt: string;
  updatedAt: string;
  /** Everything up to and including this key is done; undefined = nothing yet. */
  lastKey?: string;
  /** Totals over the keys up to `lastKey` (all sessions of the run). */
  counts: ReprocessCounts;
}

/** What the use case records; the store adds the version and the identity it was opened with. */
export type CheckpointState = Omit<Checkpoint, 'v' | 'identity'>;

export interface CheckpointStore {
  /** Where it lives (for messages). */
  readonly location: string;
  load(): Promise<Checkpoint | undefined>;
  save(state: CheckpointState): Promise<void>;
  clear(): Promise<void>;
}

export function identityHash(identity: RunIdentity): string {
  const canonical = JSON.stringify([
    identity.endpoint,
    identity.bucket,
    identity.prefix,
    identity.modelVersion,
    identity.force,
    identity.queueUrl,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 24);
}

export function sameIdentity(a: RunIdentity, b: RunIdentity): boolean {
  return identityHash(a) === identityHash(b);
}

/** `<dir>/<hash of the identity>.json` (default dir: .greenscreen/reprocess). */
export class FileCheckpointStore implements CheckpointStore {
  readonly location: string;

  constructor(
    private readonly dir: string,
    private readonly identity: RunIdentity,
  ) {
    this.location = join(dir, `${identityHash(identity)}.json`);
  }

  async load(): Promise<Checkpoint | undefined> {
    await this.removeOrphanedTemporaries();
    let raw: string;
    try {
      raw = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError(`Expected to read the checkpoint ${this.location} but could not: ${(err as Error).message}`, {
        cause: err,
        retryable: false,
      });
    }
    let cp: Checkpoint;
    try {
      cp = JSON.parse(raw) as Checkpoint;
    } catch (err) {
      throw new ConfigError(`Expected ${this.location} to be a JSON checkpoint but it is not (delete it or use --restart)`, { cause: err });
    }
    if (cp.v !== 1 || typeof cp.runId !== 'string' || !cp.identity || !sameIdentity(cp.identity, this.identity)) {
      throw new ConfigError(
        `Expected ${this.location} to be a v1 checkpoint of this command (${JSON.stringify(this.identity)}) ` +
          `but it records ${JSON.stringify(cp.identity)} (delete it or use --restart)`,
      );
    }
    return cp;
  }

  async save(state: CheckpointState): Promise<void> {
    const checkpoint: Checkpoint = { v: 1, identity: this.identity, ...state };
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.location}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(checkpoint, null, 2)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.location);
  }

  async clear(): Promise<void> {
    await rm(this.location, { force: true });
    await this.removeOrphanedTemporaries();
  }

  /** Temporary files of this checkpoint whose writer no longer runs (SIGKILL mid-save). */
  private async removeOrphanedTemporaries(): Promise<void> {
    const prefix = `${basename(this.location)}.`;
    const names = await readdir(dirname(this.location)).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(/^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : '')?.[1]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
        await rm(join(dirname(this.location), name), { force: true });
      }
    }
  }
}

/** A dry run reads the real checkpoint (to show where a run would resume) and never writes it. */
export class ReadOnlyCheckpointStore implements CheckpointStore {
  constructor(private readonly inner: CheckpointStore) {}

  get location(): string {
    return this.inner.location;
  }

  load(): Promise<Checkpoint | undefined> {
    return this.inner.load();
  }

  async save(): Promise<void> {}

  async clear(): Promise<void> {}
}

/**
 * One run per checkpoint at a time: `<checkpoint>.lock` holds the owner's pid. A lock left by a
 * process that no longer exists (SIGKILL) is taken over.
 */
export async function acquireLock(checkpointLocation: string): Promise<() => Promise<void>> {
  const lock = `${checkpointLocation}.lock`;
  await mkdir(join(lock, '..'), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new ConfigError(`Expected no other run of this command but process ${owner} holds ${lock}`);
      }
      await rm(lock, { force: true });
    }
  }
  throw new ConfigError(`Expected to take the lock ${lock} but another process keeps taking it`);
}

/**
 * One `greenscreen dev` per data dir. The lock is SQLite's exclusive lock on `<dataDir>/dev.lock`
 * (an empty database held in an open transaction): a lock on an open file, which the kernel drops
 * the moment its holder dies, kill -9 included, so a supervisor's immediate restart finds it free.
 * (A pid file could not tell: a killed process keeps its pid until it is reaped.) The file stays
 * between runs; `dev.pid` names the holder for the message a second run prints.
 *
 * node:sqlite (Node >= 22.5) is what the emulator's persistence needs anyway, and it takes the lock
 * with no native add-on. Keep other handles off dev.lock in this process: POSIX releases a
 * process's locks on a file when any descriptor of that file is closed.
 */
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '#core/errors';
import { isAlive } from '#core/processes';

/** The lock's files: `--fresh` keeps them. */
export const DATA_DIR_LOCK_FILES = ['dev.lock', 'dev.pid'] as const;

/** How long a start waits for a holder that is still going away (ms). */
const DEFAULT_WAIT_MS = 1000;

interface LockDatabase {
  exec(sql: string): void;
  close(): void;
}

const SQLITE_BUSY = 5;
const SQLITE_NOTADB = 26;

async function openDatabase(file: string): Promise<LockDatabase> {
  // node:sqlite is newer than the @types/node the project type-checks against.
  const sqlite = 'node:sqlite';
  const mod = (await import(sqlite).catch((err: unknown) => {
    throw new ConfigError(`Expected Node >= 22.5 (node:sqlite) to lock ${file} but this is Node ${process.versions.node}`, { cause: err });
  })) as { DatabaseSync: new (path: string) => LockDatabase };
  return new mod.DatabaseSync(file);
}

/**
 * Takes the data dir's lock or fails with CONFIG_ERROR naming the holder. Resolves with the release
 * (also done by the kernel if this process dies).
 */
export async function lockDataDir(dataDir: string, options: { waitMs?: number } = {}): Promise<() => Promise<void>> {
  const file = join(dataDir, 'dev.lock');
  const pidFile = join(dataDir, 'dev.pid');
  for (let attempt = 0; ; attempt++) {
    const db = await openDatabase(file);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.round(options.waitMs ?? DEFAULT_WAIT_MS))}`);
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      const code = (err as { errcode?: number }).errcode;
      if (code === SQLITE_BUSY) {
        const owner = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
        const who = Number.isInteger(owner) && owner > 0 ? `process ${owner}` : 'another process';
        throw new ConfigError(`Expected no other run of this command but ${who} holds ${file}`, { cause: err });
      }
      if (code === SQLITE_NOTADB && attempt === 0) {
        await takeOverPidLock(file);
        continue;
      }
      throw new ConfigError(`Expected to lock ${file} but SQLite refused: ${(err as Error).message}`, { cause: err });
    }
    await writeFile(pidFile, `${process.pid}\n`);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await rm(pidFile, { force: true });
      db.exec('ROLLBACK');
      db.close();
    };
  }
}

/**
 * dev.lock as earlier versions wrote it: the holder's pid, as text. A live holder keeps it; a dead
 * one's file becomes the (empty) lock database.
 */
async function takeOverPidLock(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const owner = Number(text.trim());
  if (/^\s*\d+\s*$/.test(text) && owner !== process.pid && isAlive(owner)) {
    throw new ConfigError(`Expected no other run of this command but process ${owner} holds ${file}`);
  }
  await truncate(file, 0);
}

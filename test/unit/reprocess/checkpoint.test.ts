import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, FileCheckpointStore, identityHash, ReadOnlyCheckpointStore, type CheckpointStore, type RunIdentity } from '#reprocess/checkpoint';

const identity: RunIdentity = {
  endpoint: 'http://127.0.0.1:4566',
  bucket: 'greenscreen-uploads',
  prefix: 'incoming/',
  modelVersion: 'm2',
  force: false,
  queueUrl: 'http://sqs.us-east-1.localhost:4566/000000000000/greenscreen-jobs.fifo',
};
const state = { runId: 'rp-1', startedAt: 't0', updatedAt: 't1', lastKey: 'incoming/a b.jpg', counts: { listed: 3, enqueued: 2, skipped: 1 } };
const made: string[] = [];
const tmp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gs-checkpoint-'));
  made.push(dir);
  return dir;
};
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

describe('FileCheckpointStore', () => {
  it('names the file after the command (endpoint, bucket, prefix, model, force, queue)', async () => {
    const dir = await tmp();
    const a = new FileCheckpointStore(dir, identity);
    expect(a.location).toBe(join(dir, `${identityHash(identity)}.json`));
    for (const change of [{ prefix: 'incoming/x/' }, { modelVersion: 'm3' }, { force: true }, { bucket: 'other' }, { endpoint: 'http://x' }]) {
      expect(new FileCheckpointStore(dir, { ...identity, ...change }).location).not.toBe(a.location);
    }
  });

  it('round-trips a checkpoint, stamped with its version and identity', async () => {
    const store = new FileCheckpointStore(await tmp(), identity);
    expect(await store.load()).toBeUndefined();
    await store.save(state);
    expect(await store.load()).toEqual({ v: 1, identity, ...state });
    await store.clear();
    expect(await store.load()).toBeUndefined();
  });

  it('replaces the file atomically: no temporary file is left behind, and a reader sees old or new', async () => {
    const dir = await tmp();
    const store = new FileCheckpointStore(dir, identity);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save({ ...state, lastKey: `k${i}` })));
    expect(await readdir(dir)).toEqual([`${identityHash(identity)}.json`]);
    expect((await store.load())?.lastKey).toMatch(/^k\d+$/);
  });

  it('removes the temporary file a writer killed mid-save left (on load and on clear), and nothing else', async () => {
    // Arrange: one temporary of a writer that died, one of a writer still running, and other files
    const dir = await tmp();
    const store = new FileCheckpointStore(dir, identity);
    const name = `${identityHash(identity)}.json`;
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const kept = [`${name}.${live.pid}.0badc0de.tmp`, `other.json.${dead.pid}.0badc0de.tmp`, `${name}.lock`, 'notes.txt'];
      const orphan = `${name}.${dead.pid}.c9ba8618.tmp`;
      for (const f of [...kept, orphan]) await writeFile(join(dir, f), '{"v":1,"ide');
      // Act + Assert
      await store.save(state);
      expect(await store.load()).toEqual({ v: 1, identity, ...state });
      expect((await readdir(dir)).sort()).toEqual([name, ...kept].sort());
      await writeFile(join(dir, orphan), '{"v":1,"ide');
      await store.clear();
      expect((await readdir(dir)).sort()).toEqual([...kept].sort());
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('refuses a checkpoint of another command, or a torn file, with what to do', async () => {
    const dir = await tmp();
    const store = new FileCheckpointStore(dir, identity);
    await writeFile(store.location, JSON.stringify({ v: 1, identity: { ...identity, prefix: 'x/' }, ...state }));
    await expect(store.load()).rejects.toThrow(/but it records .*"prefix":"x\/".*use --restart/);
    await writeFile(store.location, '{"v":1,"ide');
    await expect(store.load()).rejects.toThrow(`Expected ${store.location} to be a JSON checkpoint but it is not (delete it or use --restart)`);
  });

  it('a read-only view (dry runs) reads and never writes', async () => {
    const inner = new FileCheckpointStore(await tmp(), identity);
    await inner.save(state);
    const ro: CheckpointStore = new ReadOnlyCheckpointStore(inner); // used as the use case uses it
    await ro.save({ ...state, lastKey: 'zzz' });
    await ro.clear();
    expect((await ro.load())?.lastKey).toBe(state.lastKey);
  });
});

describe('acquireLock', () => {
  it('lets one run hold a checkpoint at a time', async () => {
    const location = join(await tmp(), 'c.json');
    // A live process that is not us holds the lock
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(`${location}.lock`, String(child.pid));
      await expect(acquireLock(location)).rejects.toThrow(`Expected no other run of this command but process ${child.pid} holds ${location}.lock`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that died (kill -9)', async () => {
    const location = join(await tmp(), 'c.json');
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    await writeFile(`${location}.lock`, String(child.pid));
    const release = await acquireLock(location);
    expect(await readFile(`${location}.lock`, 'utf8')).toBe(String(process.pid));
    await release();
    await expect(readFile(`${location}.lock`)).rejects.toThrow();
  });
});

import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { IMAGE_EXTENSIONS, extensionOf } from '#ingest/admission';

/** Image files under a folder (recursively), sorted. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(extensionOf(e.name))) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** The S3 key a local file is uploaded to: the input prefix + its path relative to the folder. */
export function keyFor(root: string, file: string, prefix: string): string {
  return prefix + relative(root, file).split(sep).join('/');
}

/**
 * A safe, unique folder name for a photo's outputs: its file stem, made filesystem-safe (no path
 * separators or '..'), disambiguated when two files share a stem.
 */
export function outputNames(files: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const used = new Set<string>();
  for (const f of files) {
    const stem = basename(f, extname(f)).replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').replace(/^\.+/, '_') || '_';
    let name = stem;
    for (let i = 2; used.has(name); i++) name = `${stem}-${i}`;
    used.add(name);
    names.set(f, name);
  }
  return names;
}

/** A folder given on the command line that cannot be used: the CLI refuses it before anything starts (exit 2). */
export class OutDirError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutDirError';
  }
}

/** The deepest a folder may be below its nearest existing ancestor (a walk that always ends). */
export const MAX_MISSING_LEVELS = 32;

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'unknown error';

/**
 * Makes sure `dir` is a folder this process can write in, creating the missing levels one at a time.
 * Node's `mkdir(…, { recursive: true })` is not used: on some file systems (e.g. /proc/nope, where
 * mkdir answers ENOENT under an existing parent) it retries forever. This walk goes up at most
 * MAX_MISSING_LEVELS levels to the nearest existing ancestor, then down with plain mkdir calls, and
 * ends with a probe file, so "writable" means a file could really be written. Each refusal is one
 * line naming the flag, the path and what is wrong.
 */
export async function ensureOutDir(dir: string, flag = '--out'): Promise<void> {
  const target = resolve(dir);
  const said = `${flag} ${dir}`;
  const missing: string[] = [];
  let at = target;
  for (;;) {
    let s;
    try {
      s = await stat(at);
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new OutDirError(`Expected ${said} to be a folder that can be created or written but ${at} cannot be examined (${code})`, { cause: err });
      }
      const parent = dirname(at);
      if (parent === at) throw new OutDirError(`Expected ${said} to be under an existing folder but none of its parents exists`);
      if (missing.length >= MAX_MISSING_LEVELS) {
        throw new OutDirError(`Expected ${said} to be at most ${MAX_MISSING_LEVELS} levels below an existing folder but it is deeper`);
      }
      missing.unshift(at);
      at = parent;
      continue;
    }
    if (!s.isDirectory()) {
      throw new OutDirError(
        at === target
          ? `Expected ${said} to be a folder but it is a file`
          : `Expected ${said} to be a folder that can be created but ${at} is a file`,
      );
    }
    break;
  }
  try {
    await access(at, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new OutDirError(`Expected ${said} to be a folder you can write in but ${at} is not writable (${codeOf(err)})`, { cause: err });
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (err) {
      if (codeOf(err) === 'EEXIST' && (await stat(level).catch(() => undefined))?.isDirectory()) continue;
      throw new OutDirError(`Expected ${said} to be a folder that can be created but creating ${level} failed (${codeOf(err)})`, { cause: err });
    }
  }
  const probe = join(target, `.greenscreen-write-probe-${process.pid}`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (err) {
    throw new OutDirError(`Expected ${said} to be a folder you can write in but writing a file there failed (${codeOf(err)})`, { cause: err });
  } finally {
    await rm(probe, { force: true });
  }
}

/** A local file's name as the last segment of an S3 key: [A-Za-z0-9._-] only, no leading dot. */
export function keySegment(file: string): string {
  return basename(file).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-200) || 'image';
}

import { readdir } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
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

/**
 * Labelled sets on disk, as `greenscreen eval`, the benchmarks and the tests read them:
 * `<dir>/images/<id>.{jpg,jpeg,png}`, `<dir>/masks/<id>.png`, optional `<dir>/ignore/<id>.png`
 * (255 = label unknown), optional `<dir>/split.json` ({"val": [ids], ...}).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

/** One labelled set to score: `<dir>/images/<id>.{jpg,jpeg,png}`, `<dir>/masks/<id>.png`, optional `<dir>/ignore/<id>.png`. */
export interface EvalSet {
  dir: string;
  /** A split of `<dir>/split.json`; absent = every image that has a mask. */
  split?: string;
  /** Row name, e.g. `pfcn/val`. */
  name: string;
}

export interface Pair {
  id: string;
  image: string;
  mask: string;
  ignore?: string;
}

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

/** `../data/pfcn:val` -> pfcn, split val. A path that exists as a folder is never split at a colon. */
export function parseSetArg(arg: string, defaultSplit?: string): EvalSet {
  const m = /^(.*):([\w.-]+)$/.exec(arg);
  const [dir, split] = m && !existsSync(arg) ? [m[1]!, m[2]!] : [arg, defaultSplit];
  const name = `${basename(resolve(dir))}/${split ?? 'all'}`;
  return split ? { dir, split, name } : { dir, name };
}

/** The labelled pairs of a set (sorted by id): each id's image in whichever of .jpg/.jpeg/.png exists. */
export async function listPairs(setDir: string, split?: string): Promise<Pair[]> {
  const imagesDir = join(setDir, 'images');
  if (!existsSync(imagesDir)) throw new Error(`Expected a labelled set with an images/ folder at ${setDir} but ${imagesDir} does not exist`);
  const byId = new Map<string, string>();
  for (const f of (await readdir(imagesDir)).sort()) {
    const ext = extname(f).toLowerCase();
    if (IMAGE_EXTENSIONS.includes(ext) && !byId.has(basename(f, extname(f)))) byId.set(basename(f, extname(f)), join(imagesDir, f));
  }
  let ids: string[];
  if (split) {
    const splitFile = join(setDir, 'split.json');
    if (!existsSync(splitFile)) throw new Error(`Expected ${splitFile} for split ${split} but it does not exist`);
    const splits = JSON.parse(await readFile(splitFile, 'utf8')) as Record<string, string[]>;
    const listed = splits[split];
    if (!listed) throw new Error(`Expected a split of ${setDir} in [${Object.keys(splits).join(', ')}] but received ${JSON.stringify(split)}`);
    const missing = listed.filter((id) => !byId.has(id));
    if (missing.length) {
      throw new Error(`Expected an image (${IMAGE_EXTENSIONS.join(', ')}) in ${imagesDir} for every id of split ${split} but ${missing.length} have none, e.g. ${missing[0]}`);
    }
    ids = [...listed].sort();
  } else {
    ids = [...byId.keys()].filter((id) => existsSync(join(setDir, 'masks', `${id}.png`))).sort();
  }
  return ids.map((id) => {
    const ignore = join(setDir, 'ignore', `${id}.png`);
    return { id, image: byId.get(id)!, mask: join(setDir, 'masks', `${id}.png`), ...(existsSync(ignore) ? { ignore } : {}) };
  });
}

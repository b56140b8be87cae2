/**
 * Issue 18: what cannot work is refused before the stack starts, with one line and exit 2: an
 * --out that is a file, cannot be created or is not writable (a bounded walk: /proc/nope used to
 * hang in Node's recursive mkdir), and a --background that needs the bucket a run starts without.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureOutDir, MAX_MISSING_LEVELS } from '#cli/files';
import { cli } from '#test/cli';

/** Settles within ms, or says it hung (the old recursive mkdir never settled on /proc/nope). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`Expected an answer within ${ms} ms but it hung`)), ms))]);
}

let dir: string;
let photos: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-refuse-'));
  photos = join(dir, 'photos');
  await ensureOutDir(photos);
  await sharp({ create: { width: 32, height: 48, channels: 3, background: '#336699' } }).jpeg().toFile(join(photos, 'a.jpg'));
  await writeFile(join(dir, 'a-file'), 'x');
  await writeFile(join(dir, 'notes.txt'), 'not an image');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffcc00' } }).jpeg().toFile(join(dir, 'beach.jpg'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

describe('--out that cannot work', () => {
  it.each([
    ['a-file', (d: string) => join(d, 'a-file'), 'to be a folder but it is a file'],
    ['a-file/sub', (d: string) => join(d, 'a-file', 'sub'), `to be a folder that can be created but DIR/a-file is a file`],
    ['/proc/nope', () => '/proc/nope', 'to be a folder that can be created but creating /proc/nope failed'],
    ['/proc/self (not writable)', () => '/proc/self', 'to be a folder you can write in but'],
  ])('run --out %s: one line, exit 2, before the stack starts', async (_name, path, message) => {
    const out = path(dir);
    const { code, err, out: stdout } = await within(cli('run', photos, '--out', out, '--quiet'), 10_000);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(err.startsWith(`greenscreen run: Expected --out ${out} ${message.replace('DIR', dir)}`), err).toBe(true);
    expect(err.endsWith('\n') && err.indexOf('\n') === err.length - 1, 'one line').toBe(true);
  });

  it.skipIf(process.platform !== 'linux')('dev --data-dir /proc/nope and eval --out /proc/nope are refused the same way', async () => {
    const dev = await within(cli('dev', '--data-dir', '/proc/nope/dev'), 10_000);
    expect(dev.code).toBe(2);
    expect(dev.err).toMatch(/^greenscreen dev: Expected --data-dir \/proc\/nope\/dev to be a folder that can be created but creating \/proc\/nope failed \(\w+\)\n$/);
    const ev = await within(cli('eval', 'set', '--out', '/proc/nope'), 10_000);
    expect(ev.code).toBe(2);
    expect(ev.err).toMatch(/^greenscreen eval: Expected --out \/proc\/nope to be a folder that can be created/);
  });

  it('creates the missing levels of a good --out, one at a time, and leaves no probe file', async () => {
    const out = join(dir, 'new', 'deeper', 'out');
    await ensureOutDir(out);
    expect(existsSync(out)).toBe(true);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(out)).toEqual([]);
  });

  it(`walks up at most ${MAX_MISSING_LEVELS} missing levels`, async () => {
    const deep = join(dir, ...Array.from({ length: MAX_MISSING_LEVELS + 1 }, (_, i) => `d${i}`));
    await expect(ensureOutDir(deep)).rejects.toThrow(`to be at most ${MAX_MISSING_LEVELS} levels below an existing folder but it is deeper`);
  });
});

describe('run --background that needs the bucket', () => {
  it('image:<key> with no such local file: one line naming the problem and the way out, exit 2', async () => {
    const { code, err } = await cli('run', photos, '--out', join(dir, 'o1'), '--format', 'jpeg', '--background', 'image:backgrounds/beach.jpg');
    expect(code).toBe(2);
    expect(err).toBe(
      'greenscreen run: Expected --background image:<file> to name a local image file (greenscreen run starts with an empty bucket: no key can be in it) ' +
        'but "backgrounds/beach.jpg" is not a file here; pass the image itself, e.g. --background ./beach.jpg\n',
    );
    expect(existsSync(join(dir, 'o1'))).toBe(false); // refused before anything was made
  });

  it('a local file that is not an image is refused, exit 2', async () => {
    const { code, err } = await cli('run', photos, '--out', join(dir, 'o2'), '--background', join(dir, 'notes.txt'));
    expect(code).toBe(2);
    expect(err).toBe(`greenscreen run: Expected --background ${join(dir, 'notes.txt')} to be an image file (jpg, png, webp, avif, tiff, gif) but it is not one\n`);
  });

  it('neither a keyword nor a file: says what is allowed', async () => {
    const { code, err } = await cli('run', photos, '--out', join(dir, 'o3'), '--background', 'red');
    expect(code).toBe(2);
    expect(err).toContain('Expected option background (--background) to be transparent, a colour #rrggbb or #rgb, blur, blur:<sigma 1-100>, or a local image file (uploaded with the run) but received "red" (no such file)');
  });

  it('$GREENSCREEN_OUTPUT_PROFILES with an image: background is refused in run, exit 2', async () => {
    vi.stubEnv('GREENSCREEN_OUTPUT_PROFILES', JSON.stringify([{ prefix: 'incoming/', options: { format: 'jpeg', background: 'image:backgrounds/beach.jpg' } }]));
    const { code, err } = await cli('run', photos, '--out', join(dir, 'o4'));
    expect(code).toBe(2);
    expect(err).toMatch(/^greenscreen run: Expected \$GREENSCREEN_OUTPUT_PROFILES to need nothing from the bucket in greenscreen run .* "incoming\/" has background "image:backgrounds\/beach\.jpg"; give the image with --background <file> instead\n$/);
  });
});

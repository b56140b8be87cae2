/**
 * A folder of odd but valid files (plus a few corrupt ones), made with sharp: the inputs on which
 * `greenscreen run` once ended every job and then died with SIGSEGV at exit (issue 11).
 * Vitest-free: the `bench:local` benchmark uses it too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

/** A small "photo": smooth gradients plus noise, so every codec has real work to do. */
async function photo(width: number, height: number): Promise<sharp.Sharp> {
  const data = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const i = 3 * (y * width + x);
      const n = (seed >> 16) % 24;
      data[i] = (255 * x) / width + n;
      data[i + 1] = (255 * y) / height + n;
      data[i + 2] = 128 + n;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** File name -> bytes, for every file of the corpus. */
export async function oddCorpusFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const p = () => photo(240, 320);
  files.set('wide-10000x1.png', await (await photo(10000, 1)).png().toBuffer());
  files.set('tall-1x10000.png', await (await photo(1, 10000)).png().toBuffer());
  files.set('name%20encoded.jpg', await (await p()).jpeg().toBuffer());
  files.set('plus+sign.jpg', await (await p()).jpeg().toBuffer());
  files.set('with spaces in it.jpg', await (await p()).jpeg().toBuffer());
  files.set('cmyk.jpg', await (await p()).toColourspace('cmyk').jpeg().toBuffer());
  files.set('sixteen-bit.png', await (await p()).toColourspace('rgb16').png().toBuffer());
  files.set('palette.png', await (await p()).png({ palette: true, colours: 16 }).toBuffer());
  files.set('exif-rotated.jpg', await (await p()).jpeg().withMetadata({ orientation: 6 }).toBuffer());
  files.set('photo.avif', await (await p()).avif({ quality: 50, effort: 0 }).toBuffer());
  files.set('photo.tiff', await (await p()).tiff().toBuffer());
  files.set('photo.webp', await (await p()).webp().toBuffer());
  const jpeg = await (await p()).jpeg().toBuffer();
  files.set('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  files.set('not-an-image.png', Buffer.from('this is text, not a PNG\n'.repeat(20)));
  files.set('empty.webp', Buffer.alloc(0));
  return files;
}

/** Writes the corpus into `dir` (created if needed); returns the file names. */
export async function writeOddCorpus(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = await oddCorpusFiles();
  for (const [name, body] of files) await writeFile(join(dir, name), body);
  return [...files.keys()];
}

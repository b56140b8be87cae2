/**
 * Test images, made on the fly with sharp (nothing large is committed): real photos from the CCP
 * set, and the awkward inputs a photo pipeline meets in the wild, each with the outcome the
 * pipeline must reach for it.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, createDeflate } from 'node:zlib';
import sharp from 'sharp';
import type { ErrorCode } from '#core/errors';

/** ../shared/data/ccp relative to the repository root (present in CI too). */
export const CCP_DIR = join(import.meta.dirname, '../../shared/data/ccp');
export const CCP_IMAGES = join(CCP_DIR, 'images');

let photoList: string[] | undefined;

/** Paths of the CCP photos, sorted. */
export function photoPaths(): string[] {
  photoList ??= readdirSync(CCP_IMAGES)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(CCP_IMAGES, f));
  return photoList;
}

/** The i-th photo, cycling through the set (for bursts larger than it). */
export function photoPath(i: number): string {
  const all = photoPaths();
  return all[i % all.length]!;
}

export function readPhoto(i: number): Promise<Buffer> {
  return readFile(photoPath(i));
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

/** A photo, made small (fast tests) and decoded to raw RGB: the "upright" reference. */
export async function uprightReference(photo: Buffer, width = 90): Promise<RawImage> {
  const { data, info } = await sharp(photo).resize(width).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * A JPEG that *displays* as `upright` with EXIF orientation `n`: the stored pixels are the inverse
 * of the transform the orientation asks viewers to apply. Two separate sharp pipelines where a
 * rotation and a mirror are combined, so their order is explicit.
 */
export async function orientedJpeg(upright: RawImage, n: number): Promise<Buffer> {
  const raw = () => sharp(upright.data, { raw: { width: upright.width, height: upright.height, channels: 3 } });
  const inverse: Record<number, () => sharp.Sharp> = {
    1: () => raw(),
    2: () => raw().flop(),
    3: () => raw().rotate(180),
    4: () => raw().flip(),
    5: () => raw().rotate(90), // then mirrored: transpose
    6: () => raw().rotate(270),
    7: () => raw().rotate(270), // then mirrored: transverse
    8: () => raw().rotate(90),
  };
  let stored = await inverse[n]!().png().toBuffer();
  if (n === 5 || n === 7) stored = await sharp(stored).flop().png().toBuffer();
  return sharp(stored).withMetadata({ orientation: n }).jpeg({ quality: 95 }).toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as PNG chunks use it (zlib.crc32 needs Node >= 20.15). */
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

const bombs = new Map<string, Promise<Buffer>>();

/**
 * A decompression bomb: a valid 1-bit greyscale PNG of width x height black pixels, a few hundred
 * KB on disk that would be gigabytes decoded. The IDAT is a real zlib stream of all the rows
 * (deflated from one reused zero buffer, so making it never holds the whole image).
 */
export function pngBomb(width = 50_000, height = 50_000): Promise<Buffer> {
  const id = `${width}x${height}`;
  let bomb = bombs.get(id);
  if (!bomb) {
    bomb = (async () => {
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(width, 0);
      ihdr.writeUInt32BE(height, 4);
      ihdr[8] = 1; // bit depth
      ihdr[9] = 0; // greyscale
      const rowBytes = 1 + Math.ceil(width / 8); // filter byte + packed pixels
      const rowsPerChunk = Math.max(1, Math.floor((4 << 20) / rowBytes));
      const zeros = Buffer.alloc(rowBytes * rowsPerChunk);
      const deflate = createDeflate({ level: zlibConstants.Z_BEST_COMPRESSION });
      const out: Buffer[] = [];
      deflate.on('data', (c: Buffer) => out.push(c));
      const finished = new Promise<void>((resolve, reject) => {
        deflate.on('end', resolve);
        deflate.on('error', reject);
      });
      for (let rows = 0; rows < height; rows += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, height - rows);
        if (!deflate.write(zeros.subarray(0, n * rowBytes))) await new Promise((r) => deflate.once('drain', r));
      }
      deflate.end();
      await finished;
      return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        pngChunk('IHDR', ihdr),
        pngChunk('IDAT', Buffer.concat(out)),
        pngChunk('IEND', Buffer.alloc(0)),
      ]);
    })();
    bombs.set(id, bomb);
  }
  return bomb;
}

/** An ISO-BMFF header with brand 'heic' (what an iPhone writes); the payload is not real HEVC. */
export function fakeHeic(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.writeUInt32BE(0, 12);
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, Buffer.alloc(512, 0x2a)]);
}

/** An SVG that would make a renderer fetch `probeUrl` (an image and an XInclude). */
export function hostileSvg(probeUrl: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
      `xmlns:xi="http://www.w3.org/2001/XInclude" width="64" height="64">` +
      `<image href="${probeUrl}/image.png" xlink:href="${probeUrl}/xlink.png" width="64" height="64"/>` +
      `<xi:include href="${probeUrl}/xinclude.xml" parse="text"/></svg>\n`,
  );
}

/** Two or three flat frames (red, green, blue): first-frame tests look for red. */
async function frames(count: number, width = 40, height = 30): Promise<Buffer[]> {
  const colours = [
    { r: 255, g: 0, b: 0 },
    { r: 0, g: 255, b: 0 },
    { r: 0, g: 0, b: 255 },
  ];
  return Promise.all(
    colours.slice(0, count).map((background) => sharp({ create: { width, height, channels: 3, background } }).png().toBuffer()),
  );
}

export type Expected =
  | { status: 'succeeded'; width: number; height: number }
  | { status: 'failed'; code: ErrorCode; message: string | RegExp };

export interface BadInput {
  /** Short label for tables. */
  name: string;
  /** File name to upload as (the extension matters to ingest). */
  file: string;
  bytes: Buffer;
  expected: Expected;
  /** What the pipeline does with it, in a few words (for docs/faults.md). */
  note: string;
}

/**
 * Every awkward input with the outcome the pipeline must reach. `photo` is a real JPEG (its small
 * upright version is the base of the derived images); `probeUrl` is an HTTP server that must never
 * be called (the SVG points at it).
 */
export async function badInputs(options: { photo: Buffer; probeUrl: string }): Promise<BadInput[]> {
  const upright = await uprightReference(options.photo, 120);
  const { width: w, height: h } = upright;
  const base = () => sharp(upright.data, { raw: { width: w, height: h, channels: 3 } });
  const jpeg = await base().jpeg({ quality: 90 }).toBuffer();
  const ok = (width = w, height = h): Expected => ({ status: 'succeeded', width, height });
  const animated = await frames(3);

  const inputs: BadInput[] = [
    {
      name: 'zero-byte file',
      file: 'empty.jpg',
      bytes: Buffer.alloc(0),
      expected: { status: 'failed', code: 'EMPTY_OBJECT', message: 'Expected an image but received an empty (0-byte) object' },
      note: 'rejected at ingest from the event size; never downloaded',
    },
    {
      name: 'truncated JPEG',
      file: 'truncated.jpg',
      bytes: jpeg.subarray(0, Math.floor(jpeg.length * 0.6)),
      expected: { status: 'failed', code: 'INVALID_IMAGE', message: /^Expected a valid JPEG image but it is corrupt or truncated: / },
      note: "sharp failOn 'error' refuses the partial scan",
    },
    {
      name: 'text file named .jpg',
      file: 'notes.jpg',
      bytes: Buffer.from('name,photo\nada,ada.jpg\n'),
      expected: {
        status: 'failed',
        code: 'INVALID_IMAGE',
        message: 'Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received text starting "name,pho"',
      },
      note: 'magic bytes sniffed: no decoder sees it',
    },
    {
      name: 'PNG bomb 50000x50000',
      file: 'bomb.png',
      bytes: await pngBomb(),
      expected: {
        status: 'failed',
        code: 'IMAGE_TOO_LARGE',
        message: 'Expected an image of at most 40000000 pixels but received 50000x50000',
      },
      note: 'header checked against the pixel limit before any pixel is decoded',
    },
    { name: '1x10000', file: 'tall.png', bytes: await sharp({ create: { width: 1, height: 10_000, channels: 3, background: '#7f7f7f' } }).png().toBuffer(), expected: ok(1, 10_000), note: 'model runs at 32x320 (padded); outputs at 1x10000' },
    { name: '10000x1', file: 'wide.png', bytes: await sharp({ create: { width: 10_000, height: 1, channels: 3, background: '#7f7f7f' } }).png().toBuffer(), expected: ok(10_000, 1), note: 'model runs at 320x32 (padded); outputs at 10000x1' },
    { name: 'CMYK JPEG', file: 'cmyk.jpg', bytes: await base().toColourspace('cmyk').jpeg().toBuffer(), expected: ok(), note: 'converted to sRGB' },
    { name: '16-bit PNG', file: 'rgb16.png', bytes: await base().toColourspace('rgb16').png().toBuffer(), expected: ok(), note: 'converted to 8-bit sRGB' },
    { name: 'greyscale PNG', file: 'grey.png', bytes: await base().toColourspace('b-w').png().toBuffer(), expected: ok(), note: 'expanded to 3 channels' },
    { name: 'palette PNG', file: 'palette.png', bytes: await base().png({ palette: true }).toBuffer(), expected: ok(), note: 'expanded to RGB' },
    { name: 'PNG with alpha', file: 'alpha.png', bytes: await base().ensureAlpha(0.5).png().toBuffer(), expected: ok(), note: 'cut-out alpha = mask x input alpha' },
    ...(await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map(
        async (n): Promise<BadInput> => ({
          name: `EXIF orientation ${n}`,
          file: `orientation-${n}.jpg`,
          bytes: await orientedJpeg(upright, n),
          expected: ok(),
          note: 'decoded upright (as displayed)',
        }),
      ),
    )),
    {
      name: 'animated GIF',
      file: 'animated.gif',
      bytes: await sharp(animated, { join: { animated: true } }).gif().toBuffer(),
      expected: ok(40, 30),
      note: 'first frame only',
    },
    {
      name: 'animated WebP',
      file: 'animated.webp',
      bytes: await sharp(animated, { join: { animated: true } }).webp({ lossless: true }).toBuffer(),
      expected: ok(40, 30),
      note: 'first frame only',
    },
    {
      name: 'multi-page TIFF',
      file: 'pages.tiff',
      bytes: await sharp(animated, { join: { animated: true } }).tiff().toBuffer(),
      expected: ok(40, 30),
      note: 'first page only',
    },
    { name: 'AVIF', file: 'photo.avif', bytes: await base().avif().toBuffer(), expected: ok(), note: 'decoded (libheif + AV1)' },
    {
      name: 'HEIC',
      file: 'photo.heic',
      bytes: fakeHeic(),
      expected: {
        status: 'failed',
        code: 'UNSUPPORTED_FORMAT',
        message: 'Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received HEIC (HEVC-coded HEIC is not supported: export as JPEG or AVIF)',
      },
      note: 'recognised by its ftyp brand; no HEVC decoder ships',
    },
    {
      name: 'SVG with external references',
      file: 'hostile.svg',
      bytes: hostileSvg(options.probeUrl),
      expected: {
        status: 'failed',
        code: 'UNSUPPORTED_FORMAT',
        message: 'Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received SVG',
      },
      note: 'rejected before any decoder: nothing is fetched',
    },
    {
      name: 'SVG named .png',
      file: 'disguised-svg.png',
      bytes: Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]), // UTF-8 byte-order mark
        Buffer.from('<!-- logo -->\n'),
        Buffer.from(hostileSvg(options.probeUrl).toString('utf8').replace(/^<\?xml[^>]*>\n/, '')),
      ]),
      expected: {
        status: 'failed',
        code: 'UNSUPPORTED_FORMAT',
        message: 'Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received SVG',
      },
      note: 'sniffed by content (behind a BOM and a comment), not by name',
    },
  ];
  return inputs;
}

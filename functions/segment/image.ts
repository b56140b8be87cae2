/**
 * Everything sharp: sniffing, decoding to upright sRGB, upsampling the mask, encoding. The model's input
 * resize is not here: it is #segmenter/segmentation's (Pillow-exact, as training resizes).
 * Decoding is defensive: the format is sniffed from magic bytes before sharp sees the data (SVG and
 * anything unknown never reach a decoder), dimensions are checked against the pixel limit from the
 * header before any pixel is decoded, and sharp's own errors become InvalidImage/Unsupported errors.
 */
import sharp from 'sharp';
import { EmptyObjectError, ImageTooLargeError, InvalidImageError, UnsupportedFormatError } from '#core/errors';

export type SniffedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heic' | 'svg' | 'bmp';

/** Formats we decode. HEIC (HEVC) is recognised but the bundled libvips has no HEVC decoder. */
export const DECODABLE: readonly SniffedFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'];

export function sniffFormat(buf: Buffer): SniffedFormat | undefined {
  const ascii = (start: number, end: number) => buf.subarray(start, end).toString('latin1');
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (buf.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (buf.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (buf.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return 'tiff';
  if (buf.length >= 12 && ascii(4, 8) === 'ftyp') {
    const brands = ascii(8, Math.min(buf.length, 64));
    if (/avif|avis/.test(brands)) return 'avif';
    if (/heic|heix|hevc|hevx|heim|heis|mif1|msf1/.test(brands)) return 'heic';
  }
  if (buf.length >= 2 && ascii(0, 2) === 'BM') return 'bmp';
  // SVG is XML: it may open with a byte-order mark, an XML declaration, comments or a DOCTYPE.
  const head = ascii(0, Math.min(buf.length, 4096)).replace(/^\xef\xbb\xbf/, '').trimStart().toLowerCase();
  if (head.startsWith('<') && /<svg[\s>/]/.test(head)) return 'svg';
  return undefined;
}

function describeBytes(buf: Buffer): string {
  const head = buf.subarray(0, 8);
  const printable = [...head].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? `text starting ${JSON.stringify(head.toString('latin1'))}` : `bytes ${head.toString('hex')}`;
}

export interface DecodedImage {
  /** Upright, sRGB, 8-bit, 3 channels, row-major. */
  rgb: Buffer;
  /** Input alpha (upright, 8-bit, 1 channel) when the photo had transparency. */
  alpha?: Buffer;
  width: number;
  height: number;
  format: SniffedFormat;
  pages: number;
}

export interface DecodeLimits {
  maxPixels: number;
}

function sharpFailure(err: unknown, format: SniffedFormat): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return new ImageTooLargeError(`Expected an image within the pixel limit but decoding said: ${msg}`, { cause: err });
  if (/unsupported|no decoder|compression format has not been built|codec/i.test(msg)) {
    return new UnsupportedFormatError(`Expected a decodable ${format.toUpperCase()} but this ${format.toUpperCase()} uses an unsupported feature: ${msg}`, { cause: err });
  }
  return new InvalidImageError(`Expected a valid ${format.toUpperCase()} image but it is corrupt or truncated: ${msg}`, { cause: err });
}

/** Header-only checks, then one full decode to upright sRGB (first page/frame only). */
export async function decodeImage(buf: Buffer, limits: DecodeLimits): Promise<DecodedImage> {
  if (buf.length === 0) throw new EmptyObjectError('Expected an image but received an empty (0-byte) object');
  const format = sniffFormat(buf);
  if (!format) {
    throw new InvalidImageError(`Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received ${describeBytes(buf)}`);
  }
  if (!DECODABLE.includes(format)) {
    throw new UnsupportedFormatError(
      `Expected a JPEG, PNG, WebP, GIF, TIFF or AVIF image but received ${format.toUpperCase()}` +
        (format === 'heic' ? ' (HEVC-coded HEIC is not supported: export as JPEG or AVIF)' : ''),
    );
  }
  const options: sharp.SharpOptions = { limitInputPixels: limits.maxPixels, failOn: 'error', pages: 1, page: 0, sequentialRead: true };
  let meta: sharp.Metadata;
  try {
    meta = await sharp(buf, { ...options, limitInputPixels: false }).metadata();
  } catch (err) {
    throw sharpFailure(err, format);
  }
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (!w || !h) throw new InvalidImageError(`Expected an image with a width and height but its header says ${w}x${h}`);
  if (w * h > limits.maxPixels) {
    throw new ImageTooLargeError(`Expected an image of at most ${limits.maxPixels} pixels but received ${w}x${h}`);
  }
  try {
    const base = sharp(buf, options).rotate().toColourspace('srgb');
    const hasAlpha = meta.hasAlpha === true;
    if (!hasAlpha) {
      const { data, info } = await base.removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { rgb: data, width: info.width, height: info.height, format, pages: meta.pages ?? 1 };
    }
    const { data, info } = await base.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const rgb = Buffer.allocUnsafe(n * 3);
    const alpha = Buffer.allocUnsafe(n);
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      rgb[i * 3] = data[j]!;
      rgb[i * 3 + 1] = data[j + 1]!;
      rgb[i * 3 + 2] = data[j + 2]!;
      alpha[i] = data[j + 3]!;
    }
    return { rgb, alpha, width: info.width, height: info.height, format, pages: meta.pages ?? 1 };
  } catch (err) {
    throw sharpFailure(err, format);
  }
}

/** Upsample a single-channel 8-bit map to width x height with bilinear interpolation. */
export async function resizeGrey(grey: Buffer, from: { width: number; height: number }, width: number, height: number): Promise<Buffer> {
  if (from.width === width && from.height === height) return grey;
  return sharp(grey, { raw: { width: from.width, height: from.height, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .toColourspace('b-w') // stay one band (cheaper than expanding to sRGB and extracting a channel)
    .raw()
    .toBuffer();
}

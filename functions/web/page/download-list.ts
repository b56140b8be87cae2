/**
 * The page's downloads, as data (no DOM, so a unit test reads it): derived from the pipeline's
 * output formats (#core/output-formats): the cut-out in every format with an alpha channel, with its
 * background as PNG and in every format without one (as in the pipeline: JPEG only with a
 * background), and the mask as PNG (the pipeline's mask is always PNG). A new format in
 * #core/output-formats is a new button, unasked. downloads.ts puts them in the page.
 */
import { FORMAT_FILES, OUTPUT_FORMATS, type OutputFormat } from '#core/output-formats';

export interface Download {
  /** The button's id. */
  id: string;
  source: 'cutout' | 'composite' | 'mask';
  format: OutputFormat;
  /** The file name after the photo's stem, e.g. `cutout.webp`. */
  name: string;
  text: string;
}

function download(source: Download['source'], format: OutputFormat, id: string): Download {
  const { ext, label } = FORMAT_FILES[format];
  const what = source === 'cutout' ? 'cut-out' : source === 'mask' ? 'mask' : 'with background';
  return { id, source, format, name: `${source}.${ext}`, text: `Download ${what} (${label})` };
}

const withAlpha = OUTPUT_FORMATS.filter((f) => FORMAT_FILES[f].alpha);
const opaque = OUTPUT_FORMATS.filter((f) => !FORMAT_FILES[f].alpha);

export const DOWNLOADS: readonly Download[] = [
  ...withAlpha.map((f) => download('cutout', f, `dl-${f}`)),
  download('composite', 'png', 'dl-composite'),
  ...opaque.map((f) => download('composite', f, `dl-composite-${f}`)),
  download('mask', 'png', 'dl-mask'),
];

/** The types a canvas writes in every current browser; any other format needs the dev server's encoder (AVIF). */
export const CANVAS_TYPES = ['image/png', 'image/webp', 'image/jpeg'] as const;
export type CanvasType = (typeof CANVAS_TYPES)[number];

export function canvasType(format: OutputFormat): CanvasType | undefined {
  return CANVAS_TYPES.find((t) => t === FORMAT_FILES[format].contentType);
}

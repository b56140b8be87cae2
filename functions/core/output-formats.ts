/**
 * The output formats, as data: one row per format. Pure and small (no zod, no sharp) so that every
 * place that lists formats derives from it: the spec (output-options.ts), result keys (results.ts),
 * the CLI's `--format` help, the page's download buttons and the dev server's file and encode
 * routes. A new format is a row here and a case in functions/segment/codecs.ts, nothing else.
 */

export const OUTPUT_FORMATS = ['png', 'webp', 'avif', 'jpeg'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface FormatFile {
  /** File extension of a cut-out in this format. */
  ext: string;
  contentType: string;
  /** How people name it (buttons, help). */
  label: string;
  /** Has an alpha channel: a transparent cut-out. Without one, only with an opaque background. */
  alpha: boolean;
}

export const FORMAT_FILES: Record<OutputFormat, FormatFile> = {
  png: { ext: 'png', contentType: 'image/png', label: 'PNG', alpha: true },
  webp: { ext: 'webp', contentType: 'image/webp', label: 'WebP', alpha: true },
  avif: { ext: 'avif', contentType: 'image/avif', label: 'AVIF', alpha: true },
  jpeg: { ext: 'jpg', contentType: 'image/jpeg', label: 'JPEG', alpha: false },
};

export function isOutputFormat(v: string): v is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(v);
}

/** Formats with no alpha channel ("jpeg"): a cut-out in one needs an opaque background. */
export const OPAQUE_FORMATS: readonly OutputFormat[] = OUTPUT_FORMATS.filter((f) => !FORMAT_FILES[f].alpha);

/** Every extension an output file can have: the cut-outs' and the mask's (always PNG). */
export const OUTPUT_EXTENSIONS: readonly string[] = [...new Set(OUTPUT_FORMATS.map((f) => FORMAT_FILES[f].ext))];

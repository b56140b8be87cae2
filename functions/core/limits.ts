/**
 * The pipeline's default limits on a photo, with nothing else in the file: the worker and ingest
 * read them through #core/config (where the environment can change them), and the page imports
 * them from here without bundling the config's schemas.
 */
export const DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_INPUT_PIXELS = 40_000_000;

import type { JobFailure } from '#core/types';

/** Extensions we try to decode. Anything else under the input prefix is rejected with a reason. */
export const IMAGE_EXTENSIONS = [
  '.jpg', '.jpeg', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp', '.svg',
] as const;

export interface AdmissionInput {
  key: string;
  size: number;
}

export type Admission =
  | { kind: 'accept' }
  /** Not an upload at all (a "folder" marker): nothing to do, nothing to report. */
  | { kind: 'ignore'; reason: string }
  /** An upload we will not process: the job is recorded as failed with this reason. */
  | { kind: 'reject'; failure: JobFailure };

export function extensionOf(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

/**
 * S3 allows "." and ".." as key segments, but URLs cannot carry them: every URL parser (fetch,
 * browsers, curl) collapses them, so the presigned links in a webhook would name another object.
 */
export function hasDotSegment(key: string): boolean {
  return key.split('/').some((s) => s === '.' || s === '..');
}

/** Cheap checks on what the event tells us, before any byte is read. */
export function admit(input: AdmissionInput, options: { maxBytes: number }): Admission {
  if (input.key.endsWith('/')) return { kind: 'ignore', reason: 'folder marker' };
  if (hasDotSegment(input.key)) {
    return {
      kind: 'reject',
      failure: {
        code: 'UNSUPPORTED_KEY',
        message: `Expected an object key without "." or ".." path segments (links to its results could not address it) but received ${JSON.stringify(input.key)}: upload it under another name`,
      },
    };
  }
  if (input.size === 0) {
    return { kind: 'reject', failure: { code: 'EMPTY_OBJECT', message: 'Expected an image but received an empty (0-byte) object' } };
  }
  if (input.size > options.maxBytes) {
    return {
      kind: 'reject',
      failure: {
        code: 'IMAGE_TOO_LARGE',
        message: `Expected an upload of at most ${options.maxBytes} bytes but received ${input.size} bytes`,
      },
    };
  }
  const ext = extensionOf(input.key);
  if (!(IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
    return {
      kind: 'reject',
      failure: {
        code: 'UNSUPPORTED_FORMAT',
        message: `Expected a file name ending in one of ${IMAGE_EXTENSIONS.join(', ')} but received ${JSON.stringify(
          ext || '(no extension)',
        )}`,
      },
    };
  }
  return { kind: 'accept' };
}

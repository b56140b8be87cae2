/**
 * One error family for the whole pipeline. `code` is stable (users and tests match on it);
 * `retryable` decides between "back to the queue" and "mark the job failed".
 *
 * ERROR_CODES is every code there is, so every code a result or a webhook can carry: the result
 * schema (#core/messages) accepts these and nothing else.
 */
export const ERROR_CODES = [
  'INVALID_IMAGE',
  'UNSUPPORTED_FORMAT',
  'UNSUPPORTED_KEY',
  'IMAGE_TOO_LARGE',
  'EMPTY_OBJECT',
  'OBJECT_NOT_FOUND',
  /** S3 refused a call (403): the deployment's IAM policies lack a permission the message names. */
  'ACCESS_DENIED',
  'MODEL_ERROR',
  'STORAGE_ERROR',
  'QUEUE_ERROR',
  'DELIVERY_ERROR',
  'UNSAFE_URL',
  'CONFIG_ERROR',
  'INVALID_EVENT',
  'INVALID_OUTPUT_OPTION',
  /** Anything thrown that is not a PipelineError: a bug, not the photo's or a service's fault. */
  'INTERNAL_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PipelineErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: PipelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** The bytes are not a decodable image (truncated, corrupt, text named .jpg…). Permanent. */
export class InvalidImageError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INVALID_IMAGE', message, options);
  }
}

/** A real image in a format we do not process (e.g. SVG, HEIC without a decoder). Permanent. */
export class UnsupportedFormatError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('UNSUPPORTED_FORMAT', message, options);
  }
}

/** Over the byte or pixel limit. Permanent. */
export class ImageTooLargeError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('IMAGE_TOO_LARGE', message, options);
  }
}

export class EmptyObjectError extends PipelineError {
  constructor(message: string) {
    super('EMPTY_OBJECT', message);
  }
}

/** The source object vanished between the event and the work. Permanent. */
export class ObjectNotFoundError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('OBJECT_NOT_FOUND', message, options);
  }
}

/**
 * S3 answered 403 Access Denied: a permission problem of the deployment, not of the photo, so
 * retrying cannot help (like a bad configuration). The message names the IAM permissions the call
 * needs; `permissions` lists them. On AWS a HEAD or GET of a key that does not exist also answers
 * 403 unless the caller may list the bucket (s3:ListBucket for that key as s3:prefix): code that
 * takes "not found" as an answer needs that grant (infra/lib/access-contract.ts).
 */
export class AccessDeniedError extends PipelineError {
  readonly permissions: readonly string[];

  constructor(message: string, options: { cause?: unknown; permissions: readonly string[] }) {
    super('ACCESS_DENIED', message, { cause: options.cause });
    this.permissions = options.permissions;
  }
}

export class ModelError extends PipelineError {
  constructor(message: string, options: PipelineErrorOptions = {}) {
    super('MODEL_ERROR', message, options);
  }
}

/** S3 trouble. Retryable unless told otherwise (throttling, 5xx, network). */
export class StorageError extends PipelineError {
  constructor(message: string, options: PipelineErrorOptions = {}) {
    super('STORAGE_ERROR', message, { retryable: true, ...options });
  }
}

export class QueueError extends PipelineError {
  constructor(message: string, options: PipelineErrorOptions = {}) {
    super('QUEUE_ERROR', message, { retryable: true, ...options });
  }
}

export interface DeliveryErrorOptions extends PipelineErrorOptions {
  status?: number;
  retryAfterSeconds?: number;
  /** The endpoint asked us to stop for good (HTTP 410). */
  gone?: boolean;
}

export class DeliveryError extends PipelineError {
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly gone: boolean;

  constructor(message: string, options: DeliveryErrorOptions = {}) {
    super('DELIVERY_ERROR', message, { retryable: true, ...options });
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.gone = options.gone ?? false;
  }
}

/** A webhook URL that points somewhere we must never call. Permanent. */
export class UnsafeUrlError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('UNSAFE_URL', message, options);
  }
}

/**
 * Missing or malformed configuration. Permanent by default; `retryable: true` when the
 * configuration could not be fetched (e.g. Secrets Manager throttled or unreachable).
 */
export class ConfigError extends PipelineError {
  constructor(message: string, options: PipelineErrorOptions = {}) {
    super('CONFIG_ERROR', message, options);
  }
}

export class InvalidEventError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INVALID_EVENT', message, options);
  }
}

/** Something thrown that is not a PipelineError: a bug. Permanent: doing it again does it again. */
export class InternalError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INTERNAL_ERROR', message, options);
  }
}

/**
 * Anything thrown, as a PipelineError. Adapters turn their services' failures into StorageError,
 * QueueError, DeliveryError…; whatever else arrives is an internal error, recorded, not retried.
 */
export function toPipelineError(err: unknown): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new InternalError(`Expected no internal error but one was thrown: ${message}`, { cause: err });
}

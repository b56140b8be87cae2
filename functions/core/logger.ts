import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs. Keys we use: jobId, objectKey, stage, durationMs.
 * Never log image bytes, presigned URLs or secrets.
 */
export function createLogger(serviceName: string, options: { silent?: boolean } = {}): Logger {
  const silent = options.silent ?? process.env.GREENSCREEN_LOG_LEVEL === 'SILENT';
  return new Logger({
    serviceName,
    logLevel: silent ? 'SILENT' : ((process.env.GREENSCREEN_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO'),
  });
}

export type { Logger };

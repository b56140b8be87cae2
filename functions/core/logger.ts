import { Logger } from '@aws-lambda-powertools/logger';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/**
 * Structured JSON logs. Keys we use: jobId, objectKey, stage, durationMs.
 * Never log image bytes, presigned URLs or secrets.
 * Level: GREENSCREEN_LOG_LEVEL, else Powertools' own POWERTOOLS_LOG_LEVEL (set by CDK), else INFO.
 */
export function createLogger(serviceName: string, options: { silent?: boolean } = {}): Logger {
  const level = (process.env.GREENSCREEN_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO').toUpperCase() as Level;
  const silent = options.silent ?? level === 'SILENT';
  return new Logger({ serviceName, logLevel: silent ? 'SILENT' : level });
}

export type { Logger };

/**
 * A real Powertools Logger whose output is captured (as parsed JSON lines) instead of printed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { vi } from 'vitest';

export interface CapturedLogs {
  logger: Logger;
  /** Parsed log entries, in order. */
  readonly entries: Record<string, unknown>[];
  /** Everything written, raw: for "must not contain" assertions. */
  text(): string;
  restore(): void;
}

export function captureLogs(serviceName = 'test'): CapturedLogs {
  const lines: string[] = [];
  const capture = (chunk: unknown): boolean => {
    lines.push(...String(chunk).split('\n').filter((l) => l.trim() !== ''));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as typeof process.stderr.write);
  const logger = new Logger({ serviceName, logLevel: 'DEBUG' });
  return {
    logger,
    get entries() {
      return lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    },
    text: () => lines.join('\n'),
    restore() {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

/** The embedded S3 + SQS emulator (fauxqs, in-process, HTTP on 127.0.0.1). */
import { startFauxqs } from 'fauxqs';

export interface Emulator {
  /** http://127.0.0.1:<port> — give it to the real AWS SDK clients as `endpoint`. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Note: fauxqs 1.9 binds 0.0.0.0 (it has no bind-address option); clients use 127.0.0.1. Queue URLs
 * are built with the `localhost` host name (a numeric host would make them invalid URLs).
 */
export async function startEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  const port = server.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => server.stop(),
  };
}

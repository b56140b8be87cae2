/**
 * Container health check: `node /app/functions/segment/healthcheck.ts` exits 0 while the worker's
 * heartbeat file is fresh and 1 (with the reason on stderr) when it is missing or stale. Run by
 * Docker's HEALTHCHECK and by the ECS task definition's healthCheck; see heartbeat.ts.
 *
 * Reads GREENSCREEN_HEARTBEAT_FILE like main.ts (the name is repeated, not imported from
 * #core/config, so that plain `node` can run this file without tsx or zod).
 */
import { checkHeartbeat, DEFAULT_HEARTBEAT_FILE, HEARTBEAT_MAX_AGE_SECONDS } from './heartbeat.ts';

const result = checkHeartbeat(process.env.GREENSCREEN_HEARTBEAT_FILE || DEFAULT_HEARTBEAT_FILE, HEARTBEAT_MAX_AGE_SECONDS, new Date());
if (!result.healthy) {
  process.stderr.write(`unhealthy: ${result.reason}\n`);
  process.exit(1);
}

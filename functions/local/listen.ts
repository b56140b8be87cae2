/**
 * Where local-mode listeners bind. Private by default: every listener (emulator, webhook receiver,
 * anything added later) binds loopback unless the user passes `--host`, which earns a warning.
 */
import { isIP } from 'node:net';

export const LOOPBACK_HOST = '127.0.0.1';

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** A host as it goes into a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** The warning printed when a listener is exposed beyond this machine (undefined on loopback). */
export function exposureWarning(host: string, what: string): string | undefined {
  if (isLoopback(host)) return undefined;
  return (
    `warning: ${what} listens on ${host}: anyone who can reach this address can read and write every ` +
    `photo and result, with no authentication. Leave out --host to keep it on ${LOOPBACK_HOST}.`
  );
}

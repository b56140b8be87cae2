import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { DeliveryError, UnsafeUrlError } from '#core/errors';

/**
 * SSRF guard for webhook URLs. A URL is checked once, right before it is called: every address
 * its host resolves to must be public, and the address returned here is the one the HTTP client
 * connects to (pinned), so a DNS answer that changes between the check and the connection
 * (DNS rebinding) cannot send us somewhere else.
 *
 * Numeric, octal and hex IPv4 forms (http://2130706433/, http://0x7f.1/) need no special code:
 * the WHATWG URL parser canonicalises them to dotted quads, which are then checked like any other
 * address. IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 addresses are checked through the
 * IPv4 address they carry.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** All addresses a host name resolves to (like `dns.lookup(host, { all: true })`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface UrlGuardOptions {
  /** Permit plain http:// (local mode only). */
  allowHttp?: boolean;
  /** Permit 127.0.0.0/8 and ::1 (local mode only: the webhook receiver runs on the same machine). */
  allowLoopback?: boolean;
  resolve?: Resolver;
}

/** A URL that passed the guard, with the address to connect to. */
export interface PinnedTarget {
  url: URL;
  /** Host name without IPv6 brackets: used for SNI, certificate checks and the Host header. */
  hostname: string;
  address: string;
  family: 4 | 6;
}

export interface UrlGuard {
  check(url: string): Promise<PinnedTarget>;
}

/** Host names that reach cloud metadata services however they resolve. */
const METADATA_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
  'metadata.packet.net',
]);

/** A URL for messages: no credentials, no query string (webhook URLs may carry tokens there). */
export function redactUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<unparseable URL>';
  }
}

export function createUrlGuard(options: UrlGuardOptions = {}): UrlGuard {
  const resolve = options.resolve ?? systemResolver;
  const allowHttp = options.allowHttp ?? false;
  const allowLoopback = options.allowLoopback ?? false;

  return {
    async check(raw: string): Promise<PinnedTarget> {
      let url: URL;
      try {
        url = new URL(raw);
      } catch (err) {
        throw new UnsafeUrlError(`Expected an absolute http(s) URL but received an unparseable one`, { cause: err });
      }
      const shown = redactUrl(url);
      const allowedProtocols = allowHttp ? ['https:', 'http:'] : ['https:'];
      if (!allowedProtocols.includes(url.protocol)) {
        throw new UnsafeUrlError(
          `Refusing to call ${shown} : expected ${allowHttp ? 'an http or https' : 'an https'} URL but received ${url.protocol.slice(0, -1)}`,
        );
      }
      if (url.username || url.password) {
        throw new UnsafeUrlError(`Refusing to call ${shown} : credentials in URLs are not supported`);
      }
      const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
      if (METADATA_HOSTNAMES.has(hostname)) {
        throw new UnsafeUrlError(`Refusing to call ${shown} : ${hostname} is a cloud metadata host name`);
      }

      let addresses: ResolvedAddress[];
      if (isIP(hostname)) {
        addresses = [{ address: hostname, family: isIP(hostname) === 6 ? 6 : 4 }];
      } else {
        try {
          addresses = await resolve(hostname);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          // ENOTFOUND may be a typo or a DNS outage: let the queue's retries decide.
          throw new DeliveryError(`Could not resolve ${hostname} for ${shown}: ${code}`, { cause: err });
        }
        if (addresses.length === 0) {
          throw new DeliveryError(`Expected ${hostname} to resolve to at least one address but it resolved to none`);
        }
      }

      for (const { address } of addresses) {
        const kind = classifyAddress(address);
        if (kind === undefined) continue;
        if (kind === 'loopback' && allowLoopback) continue;
        const via = address === hostname ? 'it is' : 'it resolves to';
        throw new UnsafeUrlError(`Refusing to call ${shown} : ${via} ${address}, ${describe(kind)}`);
      }

      // Prefer IPv4: Lambda functions (in a VPC or not) may have no IPv6 route out.
      const pinned = addresses.find((a) => a.family === 4) ?? addresses[0]!;
      return { url, hostname, address: pinned.address, family: pinned.family };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Address classification

export type AddressKind =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'carrier-grade-nat'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'invalid';

function describe(kind: AddressKind): string {
  switch (kind) {
    case 'loopback':
      return 'a loopback address';
    case 'private':
      return 'a private address';
    case 'link-local':
      return 'a link-local address';
    case 'metadata':
      return 'the cloud metadata address';
    case 'unique-local':
      return 'a unique-local IPv6 address';
    case 'carrier-grade-nat':
      return 'a carrier-grade NAT (100.64.0.0/10) address';
    case 'unspecified':
      return 'an unspecified ("this network") address';
    case 'multicast':
      return 'a multicast address';
    case 'broadcast':
      return 'the broadcast address';
    case 'reserved':
      return 'a reserved address';
    case 'invalid':
      return 'not a valid IP address';
  }
}

type Rule = [cidr: string, kind: AddressKind];

// Order matters: the first matching rule wins (specific entries before their enclosing range).
const IPV4_RULES: Rule[] = [
  ['255.255.255.255/32', 'broadcast'],
  ['169.254.169.254/32', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade-nat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];

const IPV6_RULES: Rule[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'],
  ['100::/64', 'reserved'],
  ['2001::/32', 'reserved'], // Teredo: the IPv4 address inside is obfuscated
  ['2001:db8::/32', 'reserved'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'reserved'], // deprecated site-local
  ['ff00::/8', 'multicast'],
];

/** IPv6 ranges that carry an IPv4 address: [prefix, byte offset of the IPv4 address]. */
const IPV4_CARRIERS: [cidr: string, offset: number][] = [
  ['::ffff:0:0/96', 12], // IPv4-mapped
  ['64:ff9b::/96', 12], // NAT64 well-known prefix
  ['64:ff9b:1::/48', 12], // NAT64 local-use
  ['::/96', 12], // IPv4-compatible (deprecated)
  ['2002::/16', 2], // 6to4
];

/** Why an address must not be called, or `undefined` for a public unicast address. */
export function classifyAddress(address: string): AddressKind | undefined {
  const family = isIP(address);
  if (family === 4) return matchRules(parseIpv4(address)!, IPV4_RULES);
  if (family !== 6) return 'invalid';
  const bytes = parseIpv6(address);
  if (!bytes) return 'invalid';
  const direct = matchRules(bytes, IPV6_RULES);
  if (direct) return direct;
  for (const [cidr, offset] of IPV4_CARRIERS) {
    if (inCidr(bytes, cidr)) return matchRules(bytes.subarray(offset, offset + 4), IPV4_RULES);
  }
  return undefined;
}

function matchRules(bytes: Uint8Array, rules: Rule[]): AddressKind | undefined {
  return rules.find(([cidr]) => inCidr(bytes, cidr))?.[1];
}

const cidrCache = new Map<string, { bytes: Uint8Array; bits: number }>();

function inCidr(bytes: Uint8Array, cidr: string): boolean {
  let parsed = cidrCache.get(cidr);
  if (!parsed) {
    const [base, bits] = cidr.split('/') as [string, string];
    const baseBytes = isIP(base) === 4 ? parseIpv4(base) : parseIpv6(base);
    parsed = { bytes: baseBytes!, bits: Number(bits) };
    cidrCache.set(cidr, parsed);
  }
  if (parsed.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < parsed.bits; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[i]! & mask) !== (parsed.bytes[i]! & mask)) return false;
  }
  return true;
}

function parseIpv4(address: string): Uint8Array | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
  return Uint8Array.from(bytes);
}

/** 16 bytes of an IPv6 address (accepts `::` compression and a trailing dotted IPv4 part). */
function parseIpv6(address: string): Uint8Array | undefined {
  let text = address.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (!v4) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const toWords = (s: string) =>
    s === '' ? [] : s.split(':').map((w) => (/^[0-9a-f]{1,4}$/i.test(w) ? parseInt(w, 16) : NaN));
  const head = toWords(halves[0]!);
  const rest = halves.length === 2 ? toWords(halves[1]!) : [];
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest];
  if (words.some((w) => Number.isNaN(w))) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/**
 * Webhook URLs an attacker (or a careless customer) might register, each of which must be refused
 * by the URL guard in production (https only, no loopback). Host names resolve through
 * TEST_RESOLVER_ANSWERS, never real DNS. Used by `npm run bench:faults`; the guard's unit tests
 * (test/unit/notify/url-guard.test.ts) check the exact messages.
 */
export interface SsrfVector {
  name: string;
  url: string;
}

export const SSRF_VECTORS: readonly SsrfVector[] = [
  { name: 'loopback', url: 'https://127.0.0.1/hooks' },
  { name: 'loopback (other 127/8)', url: 'https://127.1.2.3/hooks' },
  { name: 'loopback IPv6', url: 'https://[::1]/hooks' },
  { name: 'localhost by name', url: 'https://localhost/hooks' },
  { name: 'unspecified 0.0.0.0', url: 'https://0.0.0.0/hooks' },
  { name: 'private 10/8', url: 'https://10.0.0.1/hooks' },
  { name: 'private 172.16/12', url: 'https://172.16.5.4/hooks' },
  { name: 'private 192.168/16', url: 'https://192.168.1.1/hooks' },
  { name: 'carrier-grade NAT', url: 'https://100.64.0.1/hooks' },
  { name: 'link-local', url: 'https://169.254.10.10/hooks' },
  { name: 'link-local IPv6', url: 'https://[fe80::1]/hooks' },
  { name: 'metadata 169.254.169.254', url: 'https://169.254.169.254/latest/meta-data/iam/security-credentials/' },
  { name: 'metadata IPv6 fd00:ec2::254', url: 'https://[fd00:ec2::254]/latest/meta-data/' },
  { name: 'metadata host name (GCP)', url: 'https://metadata.google.internal/computeMetadata/v1/' },
  { name: 'metadata host name (EC2)', url: 'https://instance-data/latest/meta-data/' },
  { name: 'unique-local IPv6 fc00::/7', url: 'https://[fd12:3456:789a::1]/hooks' },
  { name: 'IPv4-mapped IPv6 loopback', url: 'https://[::ffff:127.0.0.1]/hooks' },
  { name: 'IPv4-mapped IPv6 metadata', url: 'https://[::ffff:169.254.169.254]/latest/meta-data/' },
  { name: 'IPv4-mapped IPv6 private (hex)', url: 'https://[::ffff:a00:1]/hooks' },
  { name: 'NAT64 of metadata', url: 'https://[64:ff9b::a9fe:a9fe]/latest/meta-data/' },
  { name: '6to4 of private', url: 'https://[2002:c0a8:101::1]/hooks' },
  { name: 'decimal IPv4 loopback', url: 'https://2130706433/hooks' },
  { name: 'decimal IPv4 metadata', url: 'https://2852039166/latest/meta-data/' },
  { name: 'octal IPv4 loopback', url: 'https://0177.0.0.1/hooks' },
  { name: 'octal IPv4 metadata', url: 'https://0251.0376.0251.0376/latest/meta-data/' },
  { name: 'hex IPv4 loopback', url: 'https://0x7f000001/hooks' },
  { name: 'hex IPv4 metadata', url: 'https://0xa9fea9fe/latest/meta-data/' },
  { name: 'short IPv4 (10.1)', url: 'https://10.1/hooks' },
  { name: 'trailing dot host', url: 'https://metadata.google.internal./computeMetadata/v1/' },
  { name: 'name resolving to private', url: 'https://internal.example/hooks' },
  { name: 'name resolving to public + loopback', url: 'https://mixed.example/hooks' },
  { name: 'name resolving to unique-local IPv6', url: 'https://v6only.example/hooks' },
  { name: 'broadcast', url: 'https://255.255.255.255/hooks' },
  { name: 'multicast', url: 'https://224.0.0.1/hooks' },
  { name: 'plain http (production)', url: 'http://93.184.215.14/hooks' },
  { name: 'file: scheme', url: 'file:///etc/passwd' },
  { name: 'gopher: scheme', url: 'gopher://127.0.0.1:6379/_INFO' },
  { name: 'credentials in URL', url: 'https://user:pass@hooks.example/hooks' },
];

/** Public URLs the guard must allow (so "everything blocked" is not just "nothing allowed"). */
export const SSRF_CONTROLS: readonly string[] = ['https://93.184.215.14/hooks', 'https://hooks.example/hooks'];

/** Fixed DNS answers for the names above. */
export const TEST_RESOLVER_ANSWERS: Readonly<Record<string, readonly string[]>> = {
  localhost: ['127.0.0.1', '::1'],
  'internal.example': ['10.1.2.3'],
  'mixed.example': ['93.184.215.14', '127.0.0.1'],
  'v6only.example': ['fd00::1'],
  'hooks.example': ['93.184.215.14'],
};

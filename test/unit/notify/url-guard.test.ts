import { describe, expect, it } from 'vitest';
import { DeliveryError, UnsafeUrlError } from '#core/errors';
import { classifyAddress, createUrlGuard, redactUrl, type ResolvedAddress } from '#notify/url-guard';

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

/** A resolver with fixed answers (no real DNS in unit tests). */
function resolverFor(answers: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    calls.push(host);
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

async function refusal(url: string, options: Parameters<typeof createUrlGuard>[0] = {}): Promise<UnsafeUrlError> {
  const guard = createUrlGuard({ resolve: resolverFor({}).resolve, ...options });
  const err = await guard.check(url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsafeUrlError);
  return err as UnsafeUrlError;
}

describe('url guard', () => {
  describe('refuses literal addresses that are not public', () => {
    it.each([
      ['https://127.0.0.1/hook', '127.0.0.1', 'a loopback address'],
      ['https://127.1.2.3/hook', '127.1.2.3', 'a loopback address'],
      ['https://[::1]/hook', '::1', 'a loopback address'],
      ['https://10.0.0.5/hook', '10.0.0.5', 'a private address'],
      ['https://172.16.0.1/hook', '172.16.0.1', 'a private address'],
      ['https://172.31.255.255/hook', '172.31.255.255', 'a private address'],
      ['https://192.168.1.1/hook', '192.168.1.1', 'a private address'],
      ['https://169.254.1.1/hook', '169.254.1.1', 'a link-local address'],
      ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', 'the cloud metadata address'],
      ['https://[fe80::1]/hook', 'fe80::1', 'a link-local address'],
      ['https://[fc00::1]/hook', 'fc00::1', 'a unique-local IPv6 address'],
      ['https://[fd12:3456::1]/hook', 'fd12:3456::1', 'a unique-local IPv6 address'],
      ['https://[fd00:ec2::254]/latest/meta-data/', 'fd00:ec2::254', 'the cloud metadata address'],
      ['https://100.64.0.1/hook', '100.64.0.1', 'a carrier-grade NAT (100.64.0.0/10) address'],
      ['https://100.127.255.254/hook', '100.127.255.254', 'a carrier-grade NAT (100.64.0.0/10) address'],
      ['https://0.0.0.0/hook', '0.0.0.0', 'an unspecified ("this network") address'],
      ['https://0.1.2.3/hook', '0.1.2.3', 'an unspecified ("this network") address'],
      ['https://[::]/hook', '::', 'an unspecified ("this network") address'],
      ['https://224.0.0.1/hook', '224.0.0.1', 'a multicast address'],
      ['https://239.255.255.250/hook', '239.255.255.250', 'a multicast address'],
      ['https://[ff02::1]/hook', 'ff02::1', 'a multicast address'],
      ['https://255.255.255.255/hook', '255.255.255.255', 'the broadcast address'],
      ['https://240.0.0.1/hook', '240.0.0.1', 'a reserved address'],
      ['https://192.0.2.10/hook', '192.0.2.10', 'a reserved address'],
    ])('%s', async (url, address, kind) => {
      const err = await refusal(url);
      expect(err.message).toBe(`Refusing to call ${url.replace(/\/latest.*$/, '/latest/meta-data/')} : it is ${address}, ${kind}`);
      expect(err.code).toBe('UNSAFE_URL');
      expect(err.retryable).toBe(false);
    });
  });

  describe('sees through alternative IPv4 spellings', () => {
    it.each([
      ['decimal', 'http://2130706433/', '127.0.0.1', 'a loopback address'],
      ['hex', 'http://0x7f.1/', '127.0.0.1', 'a loopback address'],
      ['octal', 'http://0177.0.0.1/', '127.0.0.1', 'a loopback address'],
      ['short form', 'http://10.1/', '10.0.0.1', 'a private address'],
      ['hex metadata', 'http://0xa9fea9fe/', '169.254.169.254', 'the cloud metadata address'],
      ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'a loopback address'],
      ['IPv4-mapped IPv6 (hex)', 'http://[::ffff:a00:5]/', '::ffff:a00:5', 'a private address'],
      ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe', 'the cloud metadata address'],
      ['NAT64', 'http://[64:ff9b::10.0.0.1]/', '64:ff9b::a00:1', 'a private address'],
      ['6to4', 'http://[2002:c0a8:101::1]/', '2002:c0a8:101::1', 'a private address'],
    ])('%s: %s', async (_name, url, address, kind) => {
      const err = await refusal(url, { allowHttp: true });
      expect(err.message).toContain(`: it is ${address}, ${kind}`);
    });
  });

  it.each([
    ['metadata.google.internal'],
    ['metadata.google.internal.'],
    ['instance-data'],
    ['instance-data.ec2.internal'],
    ['METADATA.GOOGLE.INTERNAL'],
  ])('refuses the metadata host name %s without resolving it', async (host) => {
    const { resolve, calls } = resolverFor({ [host.toLowerCase().replace(/\.$/, '')]: [PUBLIC_V4] });
    const err = await refusal(`https://${host}/computeMetadata/v1/`, { resolve });
    expect(err.message).toBe(
      `Refusing to call https://${host.toLowerCase()}/computeMetadata/v1/ : ${host.toLowerCase().replace(/\.$/, '')} is a cloud metadata host name`,
    );
    expect(calls).toEqual([]);
  });

  it.each([
    ['only private', ['10.0.0.5'], '10.0.0.5', 'a private address'],
    ['public then private', [PUBLIC_V4, '10.0.0.5'], '10.0.0.5', 'a private address'],
    ['public then loopback', [PUBLIC_V4, '127.0.0.1'], '127.0.0.1', 'a loopback address'],
    ['public v6 then link-local', [PUBLIC_V6, 'fe80::1'], 'fe80::1', 'a link-local address'],
    ['mapped loopback', ['::ffff:127.0.0.1'], '::ffff:127.0.0.1', 'a loopback address'],
  ])('refuses a name when ANY address it resolves to is unsafe (%s)', async (_name, addresses, bad, kind) => {
    const { resolve } = resolverFor({ 'hooks.example.com': addresses });
    const err = await refusal('https://hooks.example.com/x?token=abc', { resolve });
    expect(err.message).toBe(`Refusing to call https://hooks.example.com/x : it resolves to ${bad}, ${kind}`);
  });

  it.each([
    ['public IPv4', [PUBLIC_V4], PUBLIC_V4, 4],
    ['public IPv6', [PUBLIC_V6], PUBLIC_V6, 6],
    ['IPv4 preferred over IPv6', [PUBLIC_V6, PUBLIC_V4], PUBLIC_V4, 4],
    ['mapped public IPv4', ['::ffff:93.184.215.14'], '::ffff:93.184.215.14', 6],
  ])('allows and pins a public address (%s)', async (_name, addresses, pinned, family) => {
    const { resolve } = resolverFor({ 'hooks.example.com': addresses });
    const target = await createUrlGuard({ resolve }).check('https://hooks.example.com:8443/in?x=1');

    expect(target).toMatchObject({ hostname: 'hooks.example.com', address: pinned, family });
    expect(target.url.href).toBe('https://hooks.example.com:8443/in?x=1');
  });

  it('allows a public IP literal without resolving it', async () => {
    const { resolve, calls } = resolverFor({});
    const target = await createUrlGuard({ resolve }).check(`https://[${PUBLIC_V6}]/hook`);
    expect(target).toMatchObject({ hostname: PUBLIC_V6, address: PUBLIC_V6, family: 6 });
    expect(calls).toEqual([]);
  });

  describe('https only, unless local mode allows http', () => {
    it.each([
      ['http://hooks.example.com/x', 'http'],
      ['ftp://hooks.example.com/x', 'ftp'],
      ['file:///etc/passwd', 'file'],
    ])('refuses %s', async (url, scheme) => {
      const { resolve } = resolverFor({ 'hooks.example.com': [PUBLIC_V4] });
      const err = await refusal(url, { resolve });
      expect(err.message).toMatch(new RegExp(`: expected an https URL but received ${scheme}$`));
    });

    it('allows http when allowHttp is set', async () => {
      const { resolve } = resolverFor({ 'hooks.example.com': [PUBLIC_V4] });
      await expect(createUrlGuard({ resolve, allowHttp: true }).check('http://hooks.example.com/x')).resolves.toMatchObject({
        address: PUBLIC_V4,
      });
    });

    it('still refuses other schemes when allowHttp is set', async () => {
      const err = await refusal('ftp://hooks.example.com/x', { allowHttp: true });
      expect(err.message).toMatch(/expected an http or https URL but received ftp$/);
    });
  });

  describe('loopback only in local mode', () => {
    it.each([['http://127.0.0.1:4010/hook'], ['http://[::1]:4010/hook'], ['http://localhost:4010/hook']])(
      'allows %s with allowLoopback',
      async (url) => {
        const { resolve } = resolverFor({ localhost: ['::1', '127.0.0.1'] });
        const target = await createUrlGuard({ resolve, allowHttp: true, allowLoopback: true }).check(url);
        expect(['127.0.0.1', '::1']).toContain(target.address);
      },
    );

    it('does not extend allowLoopback to private addresses', async () => {
      const err = await refusal('http://10.0.0.5/hook', { allowHttp: true, allowLoopback: true });
      expect(err.message).toContain('a private address');
    });
  });

  it('refuses credentials in the URL without echoing them', async () => {
    const err = await refusal('https://user:hunter2@hooks.example.com/x');
    expect(err.message).toBe('Refusing to call https://hooks.example.com/x : credentials in URLs are not supported');
  });

  it('refuses an unparseable URL', async () => {
    const err = await refusal('not a url');
    expect(err.message).toBe('Expected an absolute http(s) URL but received an unparseable one');
  });

  it('reports a DNS failure as a retryable delivery error', async () => {
    const guard = createUrlGuard({ resolve: resolverFor({}).resolve });
    const err = await guard.check('https://nowhere.example.com/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(true);
    expect((err as DeliveryError).message).toBe('Could not resolve nowhere.example.com for https://nowhere.example.com/x: ENOTFOUND');
  });

  it('reports a name that resolves to nothing', async () => {
    const guard = createUrlGuard({ resolve: async () => [] });
    await expect(guard.check('https://empty.example.com/')).rejects.toThrow(
      'Expected empty.example.com to resolve to at least one address but it resolved to none',
    );
  });
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.0', undefined],
    ['100.63.255.255', undefined],
    ['100.128.0.0', undefined],
    ['2001:4860:4860::8888', undefined],
    ['::ffff:8.8.8.8', undefined],
    ['fbff::1', undefined],
    ['::ffff:10.1.2.3', 'private'],
    ['::10.1.2.3', 'private'],
    ['FE80::ABCD', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['2001:db8::1', 'reserved'],
    ['not-an-ip', 'invalid'],
  ])('%s -> %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('redactUrl', () => {
  it('drops credentials and the query string', () => {
    expect(redactUrl('https://u:p@hooks.example.com:8443/a/b?token=secret#frag')).toBe('https://hooks.example.com:8443/a/b');
  });
});

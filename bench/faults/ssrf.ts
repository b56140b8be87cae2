/**
 * SSRF: the production webhook URL guard (https only, no loopback) over every vector; DNS
 * rebinding against the pinned lookup; redirects through the HTTP client against a local
 * redirector and a canary that must never be called.
 */
import { responseError } from '#notify/deliver';
import { createHttpClient, pinnedLookup } from '#notify/http-client';
import { classifyAddress, createUrlGuard, type ResolvedAddress } from '#notify/url-guard';
import { startHttpRecorder } from '#harness/http-recorder';
import { SSRF_CONTROLS, SSRF_VECTORS, TEST_RESOLVER_ANSWERS } from '#harness/ssrf-vectors';

export interface SsrfRow {
  vector: string;
  url: string;
  blocked: boolean;
  how: string;
}

export async function ssrf(): Promise<{ rows: SsrfRow[]; controlsAllowed: number; controls: number }> {
  const resolve = async (host: string): Promise<ResolvedAddress[]> => {
    const answers = TEST_RESOLVER_ANSWERS[host];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const guard = createUrlGuard({ resolve });
  const rows: SsrfRow[] = [];
  for (const v of SSRF_VECTORS) {
    try {
      const pinned = await guard.check(v.url);
      rows.push({ vector: v.name, url: v.url, blocked: false, how: `ALLOWED (pinned ${pinned.address})` });
    } catch (err) {
      rows.push({ vector: v.name, url: v.url, blocked: true, how: `${(err as { code?: string }).code}: ${(err as Error).message.replace(/^Refusing to call \S+ : /, '')}` });
    }
  }

  // DNS rebinding: public when checked, private afterwards. The connection's lookup is pinned.
  let answers = 0;
  const rebinding = createUrlGuard({
    resolve: async () => [{ address: answers++ === 0 ? '93.184.215.14' : '10.0.0.1', family: 4 }],
  });
  const pinned = await rebinding.check('https://rebind.example/hooks');
  const connectsTo = await new Promise<string>((res) =>
    pinnedLookup(pinned.hostname, pinned.address, pinned.family)('rebind.example', {}, (_e, address) => res(String(address))),
  );
  rows.push({
    vector: 'DNS rebinding (public, then 10.0.0.1)',
    url: 'https://rebind.example/hooks',
    blocked: classifyAddress(connectsTo) === undefined,
    how: `pinned: the connection goes to ${connectsTo}, whatever DNS says later`,
  });

  // Redirects: the client returns a 3xx as is; the canary it points at must see nothing.
  const canary = await startHttpRecorder();
  for (const [name, location] of [
    ['redirect to metadata (302)', 'http://169.254.169.254/latest/meta-data/'],
    ['redirect to a canary (307)', `${canary.origin}/followed`],
  ] as const) {
    const redirector = await startHttpRecorder(() => ({ status: name.includes('307') ? 307 : 302, headers: { location } }));
    try {
      const local = createUrlGuard({ allowHttp: true, allowLoopback: true }); // local mode, so the redirector itself may be called
      const res = await createHttpClient({ timeoutMs: 5000 }).post(await local.check(`${redirector.origin}/hooks`), '{}', {
        headers: { 'content-type': 'application/json' },
      });
      const err = responseError(redirector.origin, res.status, res.headers, new Date());
      rows.push({
        vector: name,
        url: location,
        blocked: res.status >= 300 && res.status < 400 && canary.requests.length === 0 && !err.retryable,
        how: `${err.code}: ${err.message.replace(/^Expected a 2xx response from \S+ but received /, 'received ')} (permanent)`,
      });
    } finally {
      await redirector.close();
    }
  }
  await canary.close();

  let controlsAllowed = 0;
  for (const url of SSRF_CONTROLS) if (await guard.check(url).then(() => true, () => false)) controlsAllowed++;
  return { rows, controlsAllowed, controls: SSRF_CONTROLS.length };
}

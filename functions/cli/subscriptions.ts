/**
 * The user's own webhooks in local mode: `--webhook <url>` (with `--webhook-secret`, or a generated
 * one that is printed) and $GREENSCREEN_SUBSCRIPTIONS, validated by the schema notify uses and
 * checked at start-up by the same SSRF guard that checks every delivery (local mode allows http://
 * and loopback, for receivers on this machine; private and metadata addresses stay refused).
 */
import { randomBytes } from 'node:crypto';
import { ENV } from '#core/config';
import { ConfigError } from '#core/errors';
import { formatIssues } from '#core/issues';
import { parseSubscriptions, subscriptionSchema, type Subscription } from '#notify/subscriptions';
import { createUrlGuard, redactUrl } from '#notify/url-guard';
import { urlFlag, UsageError, type CommandSpec } from './args.ts';

export interface LocalSubscriptions {
  subscriptions: Subscription[];
  /** Lines for the start-up banner (never a secret from the environment). */
  banner: string[];
}

export async function localSubscriptions(
  spec: CommandSpec,
  v: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalSubscriptions> {
  const subscriptions: Subscription[] = [];
  const banner: string[] = [];
  const fromEnv = env[ENV.subscriptions];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const parsed = parseSubscriptions(fromEnv, `$${ENV.subscriptions}`);
    subscriptions.push(...parsed);
    for (const s of parsed) banner.push(`webhook:  ${redactUrl(s.url)} for keys under ${JSON.stringify(s.prefix)} (from $${ENV.subscriptions})`);
  }
  const url = urlFlag(spec, v.webhook, 'webhook');
  const secretFlag = typeof v['webhook-secret'] === 'string' ? v['webhook-secret'] : undefined;
  if (secretFlag !== undefined && url === undefined) throw new UsageError(spec, 'Expected --webhook <url> with --webhook-secret but received no --webhook');
  if (url !== undefined) {
    const secret = secretFlag ?? `whsec_${randomBytes(24).toString('base64')}`;
    const parsed = subscriptionSchema.safeParse({ prefix: '', url, secrets: [secret] });
    if (!parsed.success) {
      const problems = formatIssues(parsed.error, (i) => `${i.path[0] === 'secrets' ? '--webhook-secret' : '--webhook'}: ${i.message}`);
      throw new UsageError(spec, problems);
    }
    subscriptions.push(parsed.data);
    banner.push(`webhook:  ${redactUrl(url)} for every key, signed with ${secretFlag ? 'the given --webhook-secret' : `${secret} (generated)`}`);
  }
  const guard = createUrlGuard({ allowHttp: true, allowLoopback: true });
  for (const s of subscriptions) {
    try {
      await guard.check(s.url);
    } catch (err) {
      const message = `Expected a webhook URL the SSRF guard allows but ${redactUrl(s.url)} is refused: ${(err as Error).message}`;
      if (s.url === url) throw new UsageError(spec, message);
      throw new ConfigError(`${message} (in $${ENV.subscriptions})`, { cause: err });
    }
  }
  return { subscriptions, banner };
}

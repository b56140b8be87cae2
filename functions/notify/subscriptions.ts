import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ENV } from '#core/config';
import { ConfigError } from '#core/errors';
import { formatIssues } from '#core/issues';
import { systemClock, type Clock } from '#core/ports';
import type { JobEventType } from '#core/types';

/**
 * Who gets which webhooks. A subscription names a key prefix of source objects, an endpoint and
 * its Standard Webhooks secrets ("whsec_<base64>"). Several secrets are allowed at once so that a
 * secret can be rotated: every request is signed with all of them, and a receiver that knows any
 * one of them can verify it.
 *
 * Matching: EVERY enabled subscription whose prefix matches the source key (and whose `events`
 * list, when given, contains the event type) receives the event, longest prefix first. When two
 * matching subscriptions name the same URL the endpoint is called once, with the secrets of the
 * longer (more specific) prefix.
 */

export const JOB_EVENT_TYPES = ['job.succeeded', 'job.failed'] as const satisfies readonly JobEventType[];

const SECRET_PREFIX = 'whsec_';

const webhookSecretSchema = z.string().superRefine((value, ctx) => {
  const problem = secretProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** Says what is wrong with a secret without echoing it (secrets never reach logs or errors). */
function secretProblem(value: string): string | undefined {
  if (!value.startsWith(SECRET_PREFIX)) {
    return `Expected a secret of the form "whsec_<base64>" but received one starting with "${value.slice(0, 3)}…"`;
  }
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    return 'Expected the part after "whsec_" to be standard base64 but it is not';
  }
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < 24 || bytes > 64) {
    return `Expected a secret of 24 to 64 bytes but received ${bytes} bytes`;
  }
  return undefined;
}

export const subscriptionSchema = z
  .object({
    prefix: z.string(),
    url: z.string().url(),
    secrets: z.array(webhookSecretSchema).min(1, 'Expected at least one secret'),
    events: z.array(z.enum(JOB_EVENT_TYPES)).min(1).optional(),
    disabled: z.boolean().optional(),
  })
  .strict();

export const subscriptionsSchema = z.array(subscriptionSchema);

export type Subscription = z.infer<typeof subscriptionSchema>;

/** Where the subscriptions come from. Async: in AWS they live in Secrets Manager. */
export interface SubscriptionSource {
  list(): Promise<Subscription[]>;
}

/** Parses and validates a JSON subscriptions document; `origin` names where it came from. */
export function parseSubscriptions(json: string, origin: string): Subscription[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`Expected ${origin} to hold a JSON array of subscriptions but it is not valid JSON`, {
      cause: err,
    });
  }
  const parsed = subscriptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error, (i) => `[${i.path.join('.')}] ${i.message}`);
    throw new ConfigError(`Invalid subscriptions in ${origin}: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** The subscriptions that receive an event for `sourceKey`, most specific (longest prefix) first. */
export function matchSubscriptions(
  subscriptions: readonly Subscription[],
  sourceKey: string,
  type: JobEventType,
): Subscription[] {
  const matching = subscriptions
    .filter((s) => !s.disabled && sourceKey.startsWith(s.prefix) && (s.events?.includes(type) ?? true))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const seen = new Set<string>();
  return matching.filter((s) => {
    if (seen.has(s.url)) return false;
    seen.add(s.url);
    return true;
  });
}

export function staticSubscriptions(subscriptions: Subscription[]): SubscriptionSource {
  return { list: async () => subscriptions };
}

export interface SecretsManagerSubscriptionsOptions {
  clock?: Clock;
  /** How long a fetched document is used before it is fetched again. */
  ttlMs?: number;
}

export const SUBSCRIPTIONS_CACHE_MS = 5 * 60 * 1000;

/**
 * Subscriptions stored as a Secrets Manager secret string (the same JSON as GREENSCREEN_SUBSCRIPTIONS).
 * Cached for 5 minutes. When a refresh fails, the previous document stays in use; when there is
 * none yet, the failure is retryable (the message goes back to the queue).
 */
export class SecretsManagerSubscriptions implements SubscriptionSource {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private cached: { subscriptions: Subscription[]; fetchedAt: number } | undefined;
  private inFlight: Promise<Subscription[]> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
    options: SecretsManagerSubscriptionsOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? SUBSCRIPTIONS_CACHE_MS;
  }

  async list(): Promise<Subscription[]> {
    const now = this.clock.now().getTime();
    if (this.cached && now - this.cached.fetchedAt < this.ttlMs) return this.cached.subscriptions;
    this.inFlight ??= this.fetch(now).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetch(now: number): Promise<Subscription[]> {
    let secretString: string | undefined;
    try {
      const res = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
      secretString = res.SecretString;
    } catch (err) {
      if (this.cached) return this.cached.subscriptions;
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new ConfigError(`Could not read the subscriptions secret ${this.secretArn}: ${reason}`, {
        cause: err,
        retryable: true,
      });
    }
    if (secretString === undefined) {
      throw new ConfigError(
        `Expected the subscriptions secret ${this.secretArn} to hold a SecretString (JSON) but it holds binary data`,
      );
    }
    const subscriptions = parseSubscriptions(secretString, `secret ${this.secretArn}`);
    this.cached = { subscriptions, fetchedAt: now };
    return subscriptions;
  }
}

/**
 * The source named by the environment: GREENSCREEN_SUBSCRIPTIONS (JSON, parsed now so a bad
 * document fails at start-up) or GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN (fetched on first use).
 */
export function subscriptionsFromConfig(
  config: { [ENV.subscriptions]?: string | undefined; [ENV.subscriptionsSecretArn]?: string | undefined },
  secretsManager: () => SecretsManagerClient,
  options: SecretsManagerSubscriptionsOptions = {},
): SubscriptionSource {
  const json = config[ENV.subscriptions];
  const arn = config[ENV.subscriptionsSecretArn];
  if (json !== undefined && arn !== undefined) {
    throw new ConfigError(`Expected only one of ${ENV.subscriptions} and ${ENV.subscriptionsSecretArn} but both are set`);
  }
  if (json !== undefined) return staticSubscriptions(parseSubscriptions(json, ENV.subscriptions));
  if (arn !== undefined) return new SecretsManagerSubscriptions(secretsManager(), arn, options);
  throw new ConfigError(
    `Expected ${ENV.subscriptions} (JSON) or ${ENV.subscriptionsSecretArn} to be set but neither is; use "[]" for no webhooks`,
  );
}

import type { IncomingHttpHeaders } from 'node:http';
import { DeliveryError, PipelineError, UnsafeUrlError, toPipelineError } from '#core/errors';
import type { Logger } from '#core/logger';
import type { Clock, ObjectStore } from '#core/ports';
import { existingOutputs, webhookDataFor, type OutputUrls, type WebhookData } from '#core/messages';
import type { JobEvent } from '#core/types';
import type { HttpClient } from './http-client.ts';
import { signWebhook, type WebhookPayload } from './signing.ts';
import { matchSubscriptions, type Subscription, type SubscriptionSource } from './subscriptions.ts';
import type { UrlGuard } from './url-guard.ts';

/**
 * Use case: send one job event to every subscription that matches its source key.
 *
 * - 2xx: delivered.
 * - 410 Gone: the endpoint asked us to stop. Not retried; logged as a warning with code
 *   WEBHOOK_GONE so an operator disables the subscription.
 * - 408, 429, 5xx, timeouts, network and DNS errors: retryable. The whole event goes back to the
 *   queue (endpoints that already accepted it get it again with the same webhook-id, which
 *   Standard Webhooks receivers de-duplicate on).
 * - 3xx (redirects are never followed) and other 4xx, unsafe URLs: permanent, logged, not retried.
 */

export interface DeliverDeps {
  subscriptions: SubscriptionSource;
  objectStore: Pick<ObjectStore, 'presignGet'>;
  urlGuard: UrlGuard;
  http: HttpClient;
  clock: Clock;
  /** Lifetime of the presigned GET URLs in the payload. */
  presignSeconds: number;
  logger: Logger;
  /** Per-request timeout; the HTTP client's default when unset. */
  timeoutMs?: number;
}

/** `data` of a job.succeeded / job.failed webhook: declared in #core/messages as a projection of the result. */
export type JobEventData = WebhookData;

export type DeliveryOutcome =
  | { kind: 'delivered'; endpoint: string; status: number; durationMs: number }
  | { kind: 'gone'; endpoint: string; status: 410; durationMs: number }
  | { kind: 'rejected'; endpoint: string; error: PipelineError; durationMs: number }
  | { kind: 'retry'; endpoint: string; error: PipelineError; durationMs: number };

export interface DeliveryReport {
  eventId: string;
  jobId: string;
  outcomes: DeliveryOutcome[];
}

export const USER_AGENT = 'greenscreen-webhooks/1';

/**
 * Delivers `event` to its subscriptions. Resolves with what happened at each endpoint when nothing
 * needs another try; throws a retryable DeliveryError (carrying the longest Retry-After any
 * endpoint asked for) when at least one endpoint must be retried.
 */
export async function deliverJobEvent(event: JobEvent, deps: DeliverDeps): Promise<DeliveryReport> {
  const { result } = event;
  const log = { jobId: result.jobId, objectKey: result.source.key, stage: 'notify', webhookId: event.eventId };
  const subscriptions = matchSubscriptions(await deps.subscriptions.list(), result.source.key, event.type);
  if (subscriptions.length === 0) {
    deps.logger.info('No subscription matches this object; nothing to deliver', log);
    return { eventId: event.eventId, jobId: result.jobId, outcomes: [] };
  }

  const payload = await buildPayload(event, deps);
  const outcomes = await Promise.all(subscriptions.map((s) => deliverOne(event, payload, s, deps)));

  for (const o of outcomes) {
    const fields = { ...log, endpoint: o.endpoint, durationMs: o.durationMs };
    if (o.kind === 'delivered') {
      deps.logger.info('Webhook delivered', { ...fields, status: o.status });
    } else if (o.kind === 'gone') {
      deps.logger.warn('Webhook endpoint is gone (410); disable its subscription. Not retrying', {
        ...fields,
        status: o.status,
        code: 'WEBHOOK_GONE',
      });
    } else if (o.kind === 'rejected') {
      deps.logger.error('Webhook delivery failed permanently; not retrying', { ...fields, ...errorFields(o.error) });
    } else {
      deps.logger.warn('Webhook delivery failed; will retry', { ...fields, ...errorFields(o.error) });
    }
  }

  const retries = outcomes.filter((o): o is Extract<DeliveryOutcome, { kind: 'retry' }> => o.kind === 'retry');
  if (retries.length > 0) {
    const retryAfters = retries
      .map((r) => (r.error instanceof DeliveryError ? r.error.retryAfterSeconds : undefined))
      .filter((s): s is number => s !== undefined);
    const first = retries[0]!.error;
    throw new DeliveryError(
      `Expected ${outcomes.length} webhook deliveries for job ${result.jobId} to succeed but ${retries.length} must be retried: ${first.message}`,
      {
        cause: first,
        retryable: true,
        ...(first instanceof DeliveryError && first.status !== undefined ? { status: first.status } : {}),
        ...(retryAfters.length > 0 ? { retryAfterSeconds: Math.max(...retryAfters) } : {}),
      },
    );
  }
  return { eventId: event.eventId, jobId: result.jobId, outcomes };
}

/** Builds `{type, timestamp, data}`, presigning GET URLs for the outputs that exist. */
export async function buildPayload(event: JobEvent, deps: Pick<DeliverDeps, 'objectStore' | 'clock' | 'presignSeconds'>): Promise<WebhookPayload<JobEventData>> {
  const r = event.result;
  const outputs = existingOutputs(r);
  const presign = (key: string) => deps.objectStore.presignGet(r.source.bucket, key, deps.presignSeconds);
  const expiresAt = new Date(deps.clock.now().getTime() + deps.presignSeconds * 1000);
  const urls: OutputUrls = {
    ...(outputs.mask !== undefined ? { mask: await presign(outputs.mask) } : {}),
    ...(outputs.cutout !== undefined ? { cutout: await presign(outputs.cutout) } : {}),
    result: await presign(outputs.result),
  };
  const data = webhookDataFor(r, urls, expiresAt.toISOString());
  return { type: event.type, timestamp: r.finishedAt, data };
}

async function deliverOne(
  event: JobEvent,
  payload: WebhookPayload<JobEventData>,
  subscription: Subscription,
  deps: DeliverDeps,
): Promise<DeliveryOutcome> {
  const endpoint = originOf(subscription.url);
  const started = deps.clock.now().getTime();
  const elapsed = () => deps.clock.now().getTime() - started;
  try {
    const target = await deps.urlGuard.check(subscription.url);
    const signed = signWebhook(event.eventId, payload, subscription.secrets, deps.clock.now());
    const res = await deps.http.post(target, signed.body, {
      headers: { ...signed.headers, 'user-agent': USER_AGENT },
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
    });
    if (res.status >= 200 && res.status < 300) {
      return { kind: 'delivered', endpoint, status: res.status, durationMs: elapsed() };
    }
    if (res.status === 410) return { kind: 'gone', endpoint, status: 410, durationMs: elapsed() };
    const error = responseError(endpoint, res.status, res.headers, deps.clock.now());
    return { kind: error.retryable ? 'retry' : 'rejected', endpoint, error, durationMs: elapsed() };
  } catch (err) {
    const error = err instanceof UnsafeUrlError ? err : toPipelineError(err);
    return { kind: error.retryable ? 'retry' : 'rejected', endpoint, error, durationMs: elapsed() };
  }
}

/** The error for a non-2xx, non-410 answer: 408/429/5xx are retryable, the rest are not. */
export function responseError(endpoint: string, status: number, headers: IncomingHttpHeaders, now: Date): DeliveryError {
  const expected = `Expected a 2xx response from ${endpoint} but received ${status}`;
  if (status >= 300 && status < 400) {
    return new DeliveryError(`${expected}: redirects are not followed`, { status, retryable: false });
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterSeconds = parseRetryAfter(headers['retry-after'], now);
    return new DeliveryError(expected, {
      status,
      retryable: true,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }
  return new DeliveryError(expected, { status, retryable: false });
}

/** `Retry-After` as seconds from `now`: delay-seconds or an HTTP-date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // HTTP-date (IMF-fixdate, RFC 850 or asctime): all start with a day name.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** Scheme, host and port only: paths and query strings of webhook URLs may carry tokens. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<unparseable URL>';
  }
}

function errorFields(error: PipelineError): Record<string, unknown> {
  return {
    code: error.code,
    error: error.message,
    retryable: error.retryable,
    ...(error instanceof DeliveryError && error.status !== undefined ? { status: error.status } : {}),
    ...(error instanceof DeliveryError && error.retryAfterSeconds !== undefined
      ? { retryAfterSeconds: error.retryAfterSeconds }
      : {}),
  };
}

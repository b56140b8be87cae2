import { Webhook } from 'standardwebhooks';
import { ConfigError } from '#core/errors';
import type { JobEventType } from '#core/types';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): the body is `{type, timestamp, data}`;
 * `webhook-signature` is HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", one
 * space-separated `v1,<base64>` per secret, so a receiver holding any one of the secrets (old or
 * new, during a rotation) can verify the request.
 */

export interface WebhookPayload<T> {
  type: JobEventType;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: T;
}

export interface SignedRequest {
  body: string;
  headers: {
    'webhook-id': string;
    'webhook-timestamp': string;
    'webhook-signature': string;
    'content-type': 'application/json';
  };
}

/**
 * Serialises and signs one delivery. `id` is stable across redeliveries (receivers de-duplicate
 * on it); `sentAt` is the time of this attempt (receivers reject stale timestamps).
 */
export function signWebhook<T>(
  id: string,
  payload: WebhookPayload<T>,
  secrets: readonly string[],
  sentAt: Date,
): SignedRequest {
  if (secrets.length === 0) {
    throw new ConfigError(`Expected at least one signing secret for webhook ${id} but received none`);
  }
  const body = JSON.stringify(payload);
  const signatures = secrets.map((secret, i) => {
    try {
      return new Webhook(secret).sign(id, sentAt, body);
    } catch (err) {
      // Never echo the secret itself.
      throw new ConfigError(`Expected signing secret #${i + 1} to be "whsec_<base64>" but it could not be used`, {
        cause: err,
      });
    }
  });
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': signatures.join(' '),
      'content-type': 'application/json',
    },
  };
}

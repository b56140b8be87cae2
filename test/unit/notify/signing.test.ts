import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#core/errors';
import { signWebhook, type WebhookPayload } from '#notify/signing';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const payload: WebhookPayload<{ jobId: string }> = {
  type: 'job.succeeded',
  timestamp: '2025-01-01T00:00:05.000Z',
  data: { jobId: 'job-0001' },
};

describe('signWebhook', () => {
  it('produces Standard Webhooks headers and a {type, timestamp, data} body', () => {
    const sentAt = new Date('2025-01-01T00:01:00.900Z');
    const signed = signWebhook('evt_1', payload, [secret()], sentAt);

    expect(JSON.parse(signed.body)).toEqual(payload);
    expect(signed.headers).toMatchObject({
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(Date.parse('2025-01-01T00:01:00Z') / 1000),
      'content-type': 'application/json',
    });
    expect(signed.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('verifies with the standardwebhooks library', () => {
    const key = secret();
    const signed = signWebhook('evt_1', payload, [key], new Date());
    expect(new Webhook(key).verify(signed.body, signed.headers)).toEqual(payload);
  });

  describe('secret rotation: signs with every secret', () => {
    const oldSecret = secret();
    const newSecret = secret();
    const signed = signWebhook('evt_1', payload, [oldSecret, newSecret], new Date());

    it('sends one space-separated v1 signature per secret', () => {
      const parts = signed.headers['webhook-signature'].split(' ');
      expect(parts).toHaveLength(2);
      expect(parts.every((p) => p.startsWith('v1,'))).toBe(true);
    });

    it.each([
      ['only the old secret', oldSecret],
      ['only the new secret', newSecret],
    ])('a receiver knowing %s verifies', (_name, known) => {
      expect(new Webhook(known).verify(signed.body, signed.headers)).toEqual(payload);
    });

    it('a receiver knowing neither refuses', () => {
      expect(() => new Webhook(secret()).verify(signed.body, signed.headers)).toThrow('No matching signature found');
    });
  });

  it('keeps the webhook-id and signs a new timestamp on each attempt', () => {
    const key = secret();
    const first = signWebhook('evt_1', payload, [key], new Date('2025-01-01T00:00:10Z'));
    const retry = signWebhook('evt_1', payload, [key], new Date('2025-01-01T00:05:10Z'));
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['webhook-signature']).not.toBe(first.headers['webhook-signature']);
  });

  it('detects a tampered body', () => {
    const key = secret();
    const signed = signWebhook('evt_1', payload, [key], new Date());
    expect(() => new Webhook(key).verify(signed.body.replace('job-0001', 'job-0002'), signed.headers)).toThrow(
      'No matching signature found',
    );
  });

  it('refuses to sign without secrets', () => {
    expect(() => signWebhook('evt_1', payload, [], new Date())).toThrow(
      new ConfigError('Expected at least one signing secret for webhook evt_1 but received none'),
    );
  });

  it('names a broken secret by position, not by value', () => {
    expect(() => signWebhook('evt_1', payload, [secret(), 'whsec_'], new Date())).toThrow(
      'Expected signing secret #2 to be "whsec_<base64>" but it could not be used',
    );
  });
});

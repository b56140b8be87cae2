import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '#core/errors';
import type { Clock } from '#core/ports';
import {
  SecretsManagerSubscriptions,
  matchSubscriptions,
  parseSubscriptions,
  subscriptionsFromConfig,
  type Subscription,
} from '#notify/subscriptions';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const sub = (prefix: string, url: string, extra: Partial<Subscription> = {}): Subscription => ({
  prefix,
  url,
  secrets: [secret()],
  ...extra,
});

class ManualClock implements Clock {
  constructor(public ms = Date.parse('2025-01-01T00:00:00Z')) {}
  now = () => new Date(this.ms);
}

/** Stands in for the SDK client: answers GetSecretValue from a script. */
function fakeSecretsManager(answers: (() => Promise<{ SecretString?: string }>)[]) {
  const calls: GetSecretValueCommand[] = [];
  const client = {
    send: async (command: GetSecretValueCommand) => {
      calls.push(command);
      const next = answers.shift();
      if (!next) throw new Error('unexpected call');
      return next();
    },
  } as unknown as SecretsManagerClient;
  return { client, calls };
}

describe('parseSubscriptions', () => {
  it('accepts a valid document', () => {
    const doc = [sub('incoming/a/', 'https://a.example.com/hook', { events: ['job.failed'], disabled: false })];
    expect(parseSubscriptions(JSON.stringify(doc), 'test')).toEqual(doc);
  });

  it.each([
    ['not JSON', '{', 'Expected test to hold a JSON array of subscriptions but it is not valid JSON'],
    ['not an array', '{}', 'Invalid subscriptions in test: [] Expected array, received object'],
    [
      'missing url',
      JSON.stringify([{ prefix: '', secrets: [secret()] }]),
      'Invalid subscriptions in test: [0.url] Required',
    ],
    [
      'no secrets',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: [] }]),
      'Invalid subscriptions in test: [0.secrets] Expected at least one secret',
    ],
    [
      'secret without prefix',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: ['abcdefgh'] }]),
      'Invalid subscriptions in test: [0.secrets.0] Expected a secret of the form "whsec_<base64>" but received one starting with "abc…"',
    ],
    [
      'secret not base64',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: ['whsec_@@@@'] }]),
      'Invalid subscriptions in test: [0.secrets.0] Expected the part after "whsec_" to be standard base64 but it is not',
    ],
    [
      'secret too short',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: ['whsec_AAAA'] }]),
      'Invalid subscriptions in test: [0.secrets.0] Expected a secret of 24 to 64 bytes but received 3 bytes',
    ],
    [
      'unknown event',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: [secret()], events: ['job.started'] }]),
      "Invalid subscriptions in test: [0.events.0] Invalid enum value. Expected 'job.succeeded' | 'job.failed', received 'job.started'",
    ],
    [
      'unknown field',
      JSON.stringify([{ prefix: '', url: 'https://a.example.com/', secrets: [secret()], retries: 3 }]),
      "Invalid subscriptions in test: [0] Unrecognized key(s) in object: 'retries'",
    ],
  ])('rejects %s', (_name, json, message) => {
    const err = (() => {
      try {
        parseSubscriptions(json, 'test');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(message);
  });

  it('never echoes a secret in its errors', () => {
    const leaked = 'whsec_' + 'A'.repeat(10) + '!';
    expect(() => parseSubscriptions(JSON.stringify([{ prefix: '', url: 'x', secrets: [leaked] }]), 'test')).toThrow(
      /^(?!.*AAAAAAAAAA).*$/s,
    );
  });
});

describe('matchSubscriptions', () => {
  const all = sub('', 'https://all.example.com/hook');
  const customerA = sub('incoming/customer-a/', 'https://a.example.com/hook');
  const customerAFailures = sub('incoming/customer-a/', 'https://alerts.example.com/hook', { events: ['job.failed'] });
  const customerB = sub('incoming/customer-b/', 'https://b.example.com/hook');
  const disabled = sub('incoming/', 'https://old.example.com/hook', { disabled: true });
  const subscriptions = [all, customerA, customerAFailures, customerB, disabled];

  it.each([
    ['incoming/customer-a/x.jpg', 'job.succeeded', [customerA, all]],
    ['incoming/customer-a/x.jpg', 'job.failed', [customerA, customerAFailures, all]],
    ['incoming/customer-b/x.jpg', 'job.succeeded', [customerB, all]],
    ['incoming/customer-c/x.jpg', 'job.succeeded', [all]],
  ] as const)('%s (%s) goes to every matching subscription, longest prefix first', (key, type, expected) => {
    expect(matchSubscriptions(subscriptions, key, type)).toEqual(expected);
  });

  it('calls a URL once, with the secrets of the most specific subscription', () => {
    const general = sub('incoming/', 'https://same.example.com/hook');
    const specific = sub('incoming/customer-a/', 'https://same.example.com/hook');
    expect(matchSubscriptions([general, specific], 'incoming/customer-a/x.jpg', 'job.succeeded')).toEqual([specific]);
  });

  it('returns nothing when nothing matches', () => {
    expect(matchSubscriptions([customerB], 'incoming/customer-a/x.jpg', 'job.succeeded')).toEqual([]);
  });
});

describe('SecretsManagerSubscriptions', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:greenscreen/subscriptions-AbCdEf';
  const docV1 = [sub('', 'https://v1.example.com/')];
  const docV2 = [sub('', 'https://v2.example.com/')];

  it('fetches the secret once and serves it from cache for 5 minutes', async () => {
    const clock = new ManualClock();
    const { client, calls } = fakeSecretsManager([
      async () => ({ SecretString: JSON.stringify(docV1) }),
      async () => ({ SecretString: JSON.stringify(docV2) }),
    ]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock });

    expect(await source.list()).toEqual(docV1);
    clock.ms += 4 * 60 * 1000 + 59_000;
    expect(await source.list()).toEqual(docV1);
    clock.ms += 1000;
    expect(await source.list()).toEqual(docV2);

    expect(calls).toHaveLength(2);
    expect(calls[0]!.input).toEqual({ SecretId: ARN });
  });

  it('shares one fetch between concurrent callers', async () => {
    const { client, calls } = fakeSecretsManager([async () => ({ SecretString: JSON.stringify(docV1) })]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock: new ManualClock() });
    await Promise.all([source.list(), source.list(), source.list()]);
    expect(calls).toHaveLength(1);
  });

  it('keeps the previous document when a refresh fails', async () => {
    const clock = new ManualClock();
    const { client } = fakeSecretsManager([
      async () => ({ SecretString: JSON.stringify(docV1) }),
      async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    ]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock });
    await source.list();
    clock.ms += 6 * 60 * 1000;
    expect(await source.list()).toEqual(docV1);
  });

  it('fails retryably when the first fetch fails', async () => {
    const { client } = fakeSecretsManager([
      async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    ]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock: new ManualClock() });
    const err = await source.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      retryable: true,
      message: `Could not read the subscriptions secret ${ARN}: ThrottlingException: Rate exceeded`,
    });
  });

  it('fails permanently on a malformed document', async () => {
    const { client } = fakeSecretsManager([async () => ({ SecretString: '[{"prefix": 1}]' })]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock: new ManualClock() });
    await expect(source.list()).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(new RegExp(`^Invalid subscriptions in secret ${ARN}: \\[0.prefix\\]`)),
    });
  });

  it('refuses a binary secret', async () => {
    const { client } = fakeSecretsManager([async () => ({})]);
    const source = new SecretsManagerSubscriptions(client, ARN, { clock: new ManualClock() });
    await expect(source.list()).rejects.toThrow(
      `Expected the subscriptions secret ${ARN} to hold a SecretString (JSON) but it holds binary data`,
    );
  });
});

describe('subscriptionsFromConfig', () => {
  const noClient = () => {
    throw new Error('no client expected');
  };

  it('parses GREENSCREEN_SUBSCRIPTIONS at once', async () => {
    const doc = [sub('', 'https://a.example.com/')];
    const source = subscriptionsFromConfig({ GREENSCREEN_SUBSCRIPTIONS: JSON.stringify(doc) }, noClient);
    expect(await source.list()).toEqual(doc);
  });

  it('fails at start-up on a malformed GREENSCREEN_SUBSCRIPTIONS', () => {
    expect(() => subscriptionsFromConfig({ GREENSCREEN_SUBSCRIPTIONS: 'nope' }, noClient)).toThrow(
      'Expected GREENSCREEN_SUBSCRIPTIONS to hold a JSON array of subscriptions but it is not valid JSON',
    );
  });

  it('uses Secrets Manager when GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN is set', () => {
    const { client } = fakeSecretsManager([]);
    const source = subscriptionsFromConfig({ GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN: 'arn:x' }, () => client);
    expect(source).toBeInstanceOf(SecretsManagerSubscriptions);
  });

  it.each([
    [{}, 'Expected GREENSCREEN_SUBSCRIPTIONS (JSON) or GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN to be set but neither is; use "[]" for no webhooks'],
    [
      { GREENSCREEN_SUBSCRIPTIONS: '[]', GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN: 'arn:x' },
      'Expected only one of GREENSCREEN_SUBSCRIPTIONS and GREENSCREEN_SUBSCRIPTIONS_SECRET_ARN but both are set',
    ],
  ])('refuses %j', (config, message) => {
    expect(() => subscriptionsFromConfig(config, noClient)).toThrow(message);
  });
});

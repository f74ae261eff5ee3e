import { describe, expect, it } from '@jest/globals';
import {
  ALL_WEBHOOK_SECRETS,
  SIGNING_SECRETS,
  WEBHOOK_SECRETS,
  signedHeaders,
  unpadded,
  webhookSecretsOption,
} from '../../../fixtures/webhook-secrets.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { resolveWebhookSecrets, type WebhookSecrets } from '../../../../lib/core/webhooks/webhook-secrets.js';

const SECRET = WEBHOOK_SECRETS.connexease;
const bearer = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });

describe('resolveWebhookSecrets', () => {
  it('is undefined when nothing is configured', () => {
    expect(resolveWebhookSecrets(undefined)).toBeUndefined();
  });

  it('prepares one check per name, with its scheme', () => {
    const resolved = resolveWebhookSecrets(webhookSecretsOption())!;
    expect([...resolved.keys()]).toEqual(['default', 'billing', 'events']);
    expect([...resolved.values()].map(({ name, scheme }) => ({ name, scheme }))).toEqual([
      { name: 'default', scheme: 'bearer' },
      { name: 'billing', scheme: 'bearer' },
      { name: 'events', scheme: 'standard-webhooks' },
    ]);
  });

  it('keeps no secret where logging the options would print it', () => {
    const printed = JSON.stringify([...resolveWebhookSecrets(webhookSecretsOption())!.entries()]);
    for (const secret of ALL_WEBHOOK_SECRETS) expect(printed).not.toContain(secret);
  });

  it('accepts every secret of a list, so one can be rotated', () => {
    const billing = resolveWebhookSecrets(webhookSecretsOption())!.get('billing')!;
    expect(billing.verify(bearer(WEBHOOK_SECRETS.billingOld), Date.now())).toEqual({ ok: true });
    expect(billing.verify(bearer(WEBHOOK_SECRETS.billingNew), Date.now())).toEqual({ ok: true });
    expect(billing.verify(bearer(SECRET), Date.now())).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_invalid' },
    });
  });

  it('reads { scheme: "bearer" } like a plain list', () => {
    const entry = resolveWebhookSecrets({ default: { scheme: 'bearer', secrets: [SECRET] } })!.get('default')!;
    expect(entry.scheme).toBe('bearer');
    expect(entry.verify(bearer(SECRET), Date.now())).toEqual({ ok: true });
  });

  it('accepts a signing secret with or without its whsec_ prefix', () => {
    const body = '{"type":"message.received"}';
    const headers = signedHeaders(SIGNING_SECRETS.current, body);
    for (const secret of [SIGNING_SECRETS.current, SIGNING_SECRETS.current.slice('whsec_'.length)]) {
      const entry = resolveWebhookSecrets({ events: { scheme: 'standard-webhooks', secrets: secret } })!.get('events')!;
      expect(entry.verify({ headers, rawBody: Buffer.from(body) }, Date.now())).toEqual({ ok: true });
    }
  });

  it.each([
    ['one', SIGNING_SECRETS.current],
    ['two', SIGNING_SECRETS.twoPad],
  ])('accepts a signing secret with its %s "=" of padding left out, as the key the padded form gives', (_, padded) => {
    const body = '{"type":"message.received"}';
    const entry = (secret: string) =>
      resolveWebhookSecrets({ events: { scheme: 'standard-webhooks', secrets: secret } })!.get('events')!;
    // Signed by the standardwebhooks package with one form, checked with the other.
    for (const [signedWith, configured] of [
      [padded, unpadded(padded)],
      [unpadded(padded), padded],
      [padded, unpadded(padded).slice('whsec_'.length)],
    ]) {
      expect(
        entry(configured!).verify(
          { headers: signedHeaders(signedWith!, body), rawBody: Buffer.from(body) },
          Date.now(),
        ),
      ).toEqual({ ok: true });
    }
  });

  it('uses toleranceSeconds for signed webhooks', () => {
    const body = '{}';
    const at = new Date(Date.now() - 20_000);
    const entry = (toleranceSeconds?: number) =>
      resolveWebhookSecrets({
        events: { scheme: 'standard-webhooks', secrets: SIGNING_SECRETS.current, toleranceSeconds },
      })!.get('events')!;
    const request = { headers: signedHeaders(SIGNING_SECRETS.current, body, { at }), rawBody: Buffer.from(body) };
    expect(entry().verify(request, Date.now())).toEqual({ ok: true });
    expect(entry(10).verify(request, Date.now())).toEqual({
      ok: false,
      failure: { reason: 'webhook_timestamp_invalid' },
    });
  });

  const short = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P'; // 31 characters
  it.each<[string, unknown, RegExp]>([
    ['a map that is a string', SECRET, /`webhookSecrets` must map a name to a secret/],
    ['a map that is a list', [SECRET], /`webhookSecrets` must map a name to a secret/],
    [
      'an unset environment variable',
      { default: undefined },
      /`webhookSecrets\.default` is undefined: set it to a random secret of at least 32 characters \(is the environment variable/,
    ],
    [
      'an empty secret',
      { default: '' },
      /`webhookSecrets\.default` is empty: set it to a random secret of at least 32 characters/,
    ],
    [
      'a secret of 31 characters',
      { default: short },
      /`webhookSecrets\.default` is 31 characters long; a webhook secret needs at least 32 random characters/,
    ],
    [
      'one repeated character',
      { default: 'x'.repeat(40) },
      /`webhookSecrets\.default` is one character repeated: use a random secret/,
    ],
    [
      'a secret with a space',
      { default: `${SECRET.slice(0, 20)} ${SECRET.slice(20)}` },
      /contains a space, a control or a non-ASCII character/,
    ],
    [
      'a secret with a non-ASCII letter',
      { default: `${SECRET}é` },
      /contains a space, a control or a non-ASCII character/,
    ],
    [
      'a secret with a trailing newline',
      { default: `${SECRET}\n` },
      /contains a space, a control or a non-ASCII character/,
    ],
    [
      'a secret of 1025 characters',
      { default: `${SECRET}${'k'.repeat(1025 - SECRET.length)}` },
      /is 1025 characters long; the most accepted is 1024/,
    ],
    ['a number', { default: 1234567890123456 }, /`webhookSecrets\.default` must be a string; got number/],
    ['an empty list', { billing: [] }, /`webhookSecrets\.billing` is an empty list: give at least one secret/],
    [
      'a short secret in a rotation list',
      { billing: [SECRET, short] },
      /`webhookSecrets\.billing\[1\]` is 31 characters long/,
    ],
    [
      'an unknown scheme',
      { events: { scheme: 'hmac', secrets: SECRET } },
      /`webhookSecrets\.events\.scheme` must be 'bearer' or 'standard-webhooks'; got "hmac"/,
    ],
    [
      'a tolerance on a Bearer secret',
      { default: { scheme: 'bearer', secrets: SECRET, toleranceSeconds: 60 } },
      /`webhookSecrets\.default\.toleranceSeconds` only applies to/,
    ],
    [
      'a signing secret that is not base64',
      { events: { scheme: 'standard-webhooks', secrets: `whsec_${SECRET}!` } },
      /`webhookSecrets\.events\.secrets` is not a Standard Webhooks secret: expected `whsec_` followed by base64 \(A-Z, a-z, 0-9, \+ and \/, then up to two `=`, which may be left out\)/,
    ],
    [
      'a signing secret in base64url',
      {
        events: {
          scheme: 'standard-webhooks',
          secrets: [SIGNING_SECRETS.current, SIGNING_SECRETS.stranger.replaceAll('/', '_').replaceAll('+', '-')],
        },
      },
      /`webhookSecrets\.events\.secrets\[1\]` is not a Standard Webhooks secret: expected `whsec_` followed by base64/,
    ],
    [
      'a signing secret with a space',
      {
        events: {
          scheme: 'standard-webhooks',
          secrets: `${SIGNING_SECRETS.current.slice(0, 20)} ${SIGNING_SECRETS.current.slice(20)}`,
        },
      },
      /is not a Standard Webhooks secret/,
    ],
    [
      'a signing secret with three "="',
      { events: { scheme: 'standard-webhooks', secrets: `${unpadded(SIGNING_SECRETS.current).slice(0, -2)}===` } },
      /is not a Standard Webhooks secret/,
    ],
    [
      'a signing secret whose base64 has 4n+1 characters',
      { events: { scheme: 'standard-webhooks', secrets: `${unpadded(SIGNING_SECRETS.current)}AB` } },
      /`webhookSecrets\.events\.secrets` has 45 base64 characters, a length no base64 has \(4n \+ 1\): was a character lost or added when it was copied\?/,
    ],
    [
      'a signing secret whose last character carries stray bits',
      { events: { scheme: 'standard-webhooks', secrets: `${unpadded(SIGNING_SECRETS.current).slice(0, -1)}Z` } },
      /`webhookSecrets\.events\.secrets` does not end as base64 does \(its last character carries bits no encoder sets\): was it copied in full\?/,
    ],
    [
      'a signing secret of 16 bytes',
      { events: { scheme: 'standard-webhooks', secrets: `whsec_${Buffer.alloc(16, 7).toString('base64')}` } },
      /decodes to 16 bytes; a signing secret needs at least 24 random bytes/,
    ],
    [
      'a signing secret of zero bytes',
      { events: { scheme: 'standard-webhooks', secrets: `whsec_${'A'.repeat(44)}` } },
      /`webhookSecrets\.events\.secrets` is one character repeated/,
    ],
    [
      'a signing secret of one byte repeated',
      { events: { scheme: 'standard-webhooks', secrets: `whsec_${Buffer.alloc(32, 7).toString('base64')}` } },
      /is one byte repeated/,
    ],
    [
      'an empty signing secret',
      { events: { scheme: 'standard-webhooks', secrets: [SIGNING_SECRETS.current, ''] } },
      /`webhookSecrets\.events\.secrets\[1\]` is empty/,
    ],
    [
      'a zero tolerance',
      { events: { scheme: 'standard-webhooks', secrets: SIGNING_SECRETS.current, toleranceSeconds: 0 } },
      /`webhookSecrets\.events\.toleranceSeconds` must be a whole number of seconds above 0/,
    ],
    [
      'a fractional tolerance',
      { events: { scheme: 'standard-webhooks', secrets: SIGNING_SECRETS.current, toleranceSeconds: 1.5 } },
      /toleranceSeconds` must be a whole number/,
    ],
  ])('refuses %s with a message that says what to change', (_, option, message) => {
    const attempt = () => resolveWebhookSecrets(option as WebhookSecrets);
    expect(attempt).toThrow(KeyringConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^nest-keyring: /);
  });

  it('never prints the secret it refuses', () => {
    const secret = 'short-but-secret-value';
    try {
      resolveWebhookSecrets({ default: secret });
      throw new Error('expected a KeyringConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(KeyringConfigError);
      expect((error as Error).message).not.toContain(secret);
    }
  });
});

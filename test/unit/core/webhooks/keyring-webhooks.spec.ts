import { describe, expect, it } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  SIGNING_SECRETS,
  WEBHOOK_SECRETS,
  signedHeaders,
  webhookSecretsOption,
} from '../../../fixtures/webhook-secrets.js';
import { KEYRING_CHANNELS } from '../../../../lib/core/admission/decision-events.js';
import { createErrorResponder } from '../../../../lib/core/refusals/error-format.js';
import { KeyringWebhooks } from '../../../../lib/core/webhooks/keyring-webhooks.js';
import { resolveWebhookSecrets, type WebhookSecrets } from '../../../../lib/core/webhooks/webhook-secrets.js';

const responder = { errorResponse: createErrorResponder('cubeconnect') };
const webhooksOf = (secrets: WebhookSecrets | undefined) =>
  new KeyringWebhooks(resolveWebhookSecrets(secrets), 'nest', responder);
const BODY = '{"event":"message.received"}';

describe('KeyringWebhooks.secret', () => {
  const webhooks = webhooksOf(webhookSecretsOption());

  it('returns the named sender', () => {
    expect(webhooks.secret('billing', 'X.y').name).toBe('billing');
  });

  it('names the route, the missing name and the configured ones', () => {
    expect(() => webhooks.secret('stripe', 'WebhooksController.stripe')).toThrow(
      'nest-keyring: WebhooksController.stripe checks the webhook secret "stripe", ' +
        'but `webhookSecrets` has no such name (configured: default, billing, events). ' +
        'Add `webhookSecrets.stripe` or name a configured secret.',
    );
  });

  it('says when no secret is configured at all', () => {
    expect(() => webhooksOf(undefined).secret('default', 'X.y')).toThrow(/has no such name \(none is configured\)/);
  });
});

describe('KeyringWebhooks.signed', () => {
  it('says whether any sender signs its webhooks', () => {
    expect(webhooksOf(webhookSecretsOption()).signed).toBe(true);
    expect(webhooksOf({ default: WEBHOOK_SECRETS.connexease }).signed).toBe(false);
    expect(webhooksOf(undefined).signed).toBe(false);
  });
});

describe('KeyringWebhooks.check', () => {
  it('reads the raw body from rawBody, else a Buffer body, never a parsed one', () => {
    const webhooks = webhooksOf(webhookSecretsOption());
    const events = webhooks.secret('events', 'X.y');
    const headers = { ...signedHeaders(SIGNING_SECRETS.current, BODY), 'content-length': String(BODY.length) };
    expect(webhooks.check(events, { headers, rawBody: Buffer.from(BODY) })).toEqual({ ok: true });
    expect(webhooks.check(events, { headers, body: Buffer.from(BODY) })).toEqual({ ok: true });
    expect(webhooks.check(events, { headers, body: JSON.parse(BODY) })).toMatchObject({
      ok: false,
      failure: { reason: 'webhook_signature_invalid' },
      rawBodyMissing: true,
    });
  });

  it('gives the warning about a body nobody kept once, however often it happens', () => {
    const webhooks = webhooksOf(webhookSecretsOption());
    const events = webhooks.secret('events', 'X.y');
    const headers = { ...signedHeaders(SIGNING_SECRETS.current, BODY), 'content-length': String(BODY.length) };
    expect(webhooks.check(events, { headers }).warning).toMatch(/rawBody: true/);
    expect(webhooks.check(events, { headers }).warning).toBeUndefined();
    // Another bad delivery says nothing: only a set-up mistake warrants a line.
    expect(webhooks.check(webhooks.secret('default', 'X.y'), { headers: {} })).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_missing' },
    });
  });

  it("reads Node's header lines under Fastify's raw, and refuses a repeated Authorization", () => {
    const webhooks = webhooksOf(webhookSecretsOption());
    const secret = webhooks.secret('default', 'X.y');
    const authorization = `Bearer ${WEBHOOK_SECRETS.connexease}`;
    const lines = ['Authorization', authorization, 'Authorization', 'Bearer other'];
    expect(webhooks.check(secret, { headers: { authorization } })).toEqual({ ok: true });
    for (const request of [
      { headers: { authorization }, rawHeaders: lines },
      { headers: { authorization }, raw: { rawHeaders: lines } },
    ]) {
      expect(webhooks.check(secret, request)).toMatchObject({ failure: { reason: 'webhook_secret_malformed' } });
    }
  });

  it('publishes each outcome with the secret name, never the secret, and the status of a refusal', () => {
    const webhooks = webhooksOf(webhookSecretsOption());
    const secret = webhooks.secret('default', 'X.y');
    const verified: unknown[] = [];
    const refused: unknown[] = [];
    const onVerified = (message: unknown) => verified.push(message);
    const onRefused = (message: unknown) => refused.push(message);
    subscribe(KEYRING_CHANNELS.webhookVerified, onVerified);
    subscribe(KEYRING_CHANNELS.webhookRefused, onRefused);
    try {
      const request = { method: 'POST', url: '/webhook?x=1' };
      webhooks.check(secret, { ...request, headers: { authorization: `Bearer ${WEBHOOK_SECRETS.connexease}` } });
      webhooks.check(secret, { ...request, headers: { authorization: `Bearer ${WEBHOOK_SECRETS.stranger}` } });
    } finally {
      unsubscribe(KEYRING_CHANNELS.webhookVerified, onVerified);
      unsubscribe(KEYRING_CHANNELS.webhookRefused, onRefused);
    }
    const route = { method: 'POST', route: '/webhook', secretName: 'default', scheme: 'bearer' };
    expect(verified).toEqual([expect.objectContaining(route)]);
    expect(refused).toEqual([
      expect.objectContaining({
        ...route,
        reason: 'webhook_secret_invalid',
        code: 'INVALID_WEBHOOK_SECRET',
        status: 401,
      }),
    ]);
    expect(JSON.stringify([verified, refused])).not.toContain(WEBHOOK_SECRETS.connexease);
  });
});

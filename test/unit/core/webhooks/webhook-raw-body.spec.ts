import { describe, expect, it } from '@jest/globals';
import { SIGNING_SECRETS, WEBHOOK_SECRETS } from '../../../fixtures/webhook-secrets.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import {
  rawBodyStartupError,
  rawBodyWarning,
  resolveWebhookRawBody,
} from '../../../../lib/core/webhooks/webhook-raw-body.js';

const SIGNED = { events: { scheme: 'standard-webhooks' as const, secrets: SIGNING_SECRETS.current } };

describe('resolveWebhookRawBody', () => {
  it("defaults to 'nest' and takes 'nest' or 'app' where a signing secret is configured", () => {
    expect(resolveWebhookRawBody(undefined, undefined)).toBe('nest');
    expect(resolveWebhookRawBody('nest', SIGNED)).toBe('nest');
    expect(resolveWebhookRawBody('app', SIGNED)).toBe('app');
  });

  it.each<[unknown, object | undefined, RegExp]>([
    ['express', SIGNED, /`webhookRawBody` must be 'nest' or 'app'; got "express"/],
    [true, SIGNED, /must be 'nest' or 'app'; got true/],
    ['app', undefined, /only applies to `scheme: 'standard-webhooks'` secrets, and none is configured: remove it/],
    [
      'app',
      { default: WEBHOOK_SECRETS.connexease, billing: { scheme: 'bearer', secrets: WEBHOOK_SECRETS.billingNew } },
      /none is configured/,
    ],
  ])('refuses %j with %j', (value, secrets, message) => {
    const attempt = () => resolveWebhookRawBody(value, secrets as never);
    expect(attempt).toThrow(KeyringConfigError);
    expect(attempt).toThrow(message);
  });
});

describe('rawBodyStartupError', () => {
  it('says the fix when Nest keeps the raw bodies, the app did not ask for them and routes check signatures', () => {
    expect(rawBodyStartupError('nest', false, ['EventsController.events', 'BillingController.receive'])).toMatch(
      /^EventsController\.events, BillingController\.receive check a Standard Webhooks signature.*NestFactory\.create\(AppModule, \{ rawBody: true \}\).*webhookRawBody: 'app'/s,
    );
  });

  it.each<[string, 'nest' | 'app', boolean | undefined, string[]]>([
    ['rawBody: true', 'nest', true, ['EventsController.events']],
    ['the option out of sight', 'nest', undefined, ['EventsController.events']],
    ['no signed route', 'nest', false, []],
    ["webhookRawBody: 'app'", 'app', false, ['EventsController.events']],
  ])('lets the app start with %s', (_, source, rawBody, routes) => {
    expect(rawBodyStartupError(source, rawBody, routes)).toBeUndefined();
  });
});

describe('rawBodyWarning', () => {
  it('says what happened and that it is logged once', () => {
    expect(rawBodyWarning('nest')).toMatch(
      /not kept as raw bytes.*refused as unverifiable \(401\).*rawBody: true.*Logged once\.$/s,
    );
  });

  it('names the fix for each host', () => {
    expect(rawBodyWarning('express')).toMatch(
      /express\.raw\(\{ type: 'application\/json' \}\).*before `webhookSecretMiddleware`/,
    );
    expect(rawBodyWarning('nest')).toMatch(/app\.useBodyParser\(type\)/);
  });
});

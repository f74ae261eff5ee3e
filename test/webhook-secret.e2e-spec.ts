import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  ApiKeyModule,
  KeyringConfigError,
  Public,
  WebhookSecret,
  WebhookSecretGuard,
  type ApiKeyModuleOptions,
} from '../lib/index.js';
import { ADAPTERS, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { createWebhookTestApp, expectNoSecretLeaked, expectRefused, NO_KEYS } from './fixtures/webhook-app.js';
import { routesController, webhookController } from './fixtures/routes-controller.js';
import { oneCharacterOff, WEBHOOK_SECRETS, webhookSecretsOption } from './fixtures/webhook-secrets.js';

const EVENT = { type: 'message.received', data: { from: '905321234567', text: 'Hello!' } };

const WebhooksController = webhookController('WebhooksController', 'webhooks', [
  { path: 'connexease', answer: 'body' },
  { path: 'billing', decorators: [WebhookSecret('billing')] },
  // The guard without the decorator checks the `default` secret.
  { path: 'plain', decorators: [UseGuards(WebhookSecretGuard)] },
]);

// A route's name overrides its controller's.
const BillingEventsController = webhookController(
  'BillingEventsController',
  'billing-events',
  [
    { path: '', ran: 'billing-events', handler: 'receive', decorators: [] },
    { path: 'relayed', decorators: [WebhookSecret()] },
  ],
  [WebhookSecret('billing')],
);

/** Protected by `protectAllRoutes: true`; its webhook route opts out of API keys with @Public(). */
const GlobalAppController = routesController('GlobalAppController', '', [
  { method: 'GET', path: 'me', answer: {} },
  { path: 'webhook', decorators: [Public(), WebhookSecret()] },
]);

async function webhookApp(
  adapter: AdapterName,
  options: Partial<ApiKeyModuleOptions> = {},
  controllers: unknown[] = [WebhooksController, BillingEventsController],
) {
  return createWebhookTestApp(adapter, {
    imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption(), ...options })],
    controllers: controllers as never[],
  });
}

/** A well-formed secret that is not the route's: 401 INVALID_WEBHOOK_SECRET (invalid_token), no handler run. */
function expectWrongSecret(test: TestApp, response: request.Response): void {
  expectRefused(test, response, 401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_token"');
}

describe.each(ADAPTERS)('WebhookSecretGuard on %s', (adapter) => {
  describe('with the cubeconnect format (default)', () => {
    let test: TestApp;
    const post = (path: string) => request(test.app.getHttpServer()).post(path);
    beforeAll(async () => {
      test = await webhookApp(adapter);
    });
    afterAll(() => test.close());
    beforeEach(() => {
      test.handlers.calls.length = 0;
      test.logger.lines.length = 0;
    });

    it('runs the handler for the right secret, and the handler reads the payload', async () => {
      const response = await post('/webhooks/connexease')
        .set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`)
        .send(EVENT);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: EVENT });
      expect(test.handlers.calls).toEqual(['connexease']);
    });

    it.each([
      ['bearer', `bearer ${WEBHOOK_SECRETS.connexease}`],
      ['BEARER', `BEARER ${WEBHOOK_SECRETS.connexease}`],
      ['BeArEr', `BeArEr ${WEBHOOK_SECRETS.connexease}`],
      // HTTP strips whitespace around a header value before any code sees it.
      ['surrounding whitespace', `  Bearer ${WEBHOOK_SECRETS.connexease}  `],
    ])('accepts the scheme written %s', async (_, authorization) => {
      const response = await post('/webhooks/connexease').set('Authorization', authorization).send(EVENT);
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['connexease']);
    });

    it('answers 401 WEBHOOK_SECRET_REQUIRED without an Authorization header', async () => {
      const response = await post('/webhooks/connexease').send(EVENT);
      expectRefused(test, response, 401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
      expect(response.body.error.message).toBe('Webhook secret is required.');
    });

    it('does not read the secret from X-API-KEY', async () => {
      const response = await post('/webhooks/connexease').set('X-API-KEY', WEBHOOK_SECRETS.connexease).send(EVENT);
      expectRefused(test, response, 401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
    });

    it.each([
      ['a wrong secret', WEBHOOK_SECRETS.stranger],
      ['the secret of another name', WEBHOOK_SECRETS.billingNew],
      ['the secret one character off at the start', oneCharacterOff(WEBHOOK_SECRETS.connexease, 'start')],
      ['the secret one character off at the end', oneCharacterOff(WEBHOOK_SECRETS.connexease, 'end')],
      ['the secret without its last character', WEBHOOK_SECRETS.connexease.slice(0, -1)],
      ['the secret plus one character', `${WEBHOOK_SECRETS.connexease}0`],
      ['the secret in lower case', WEBHOOK_SECRETS.connexease.toLowerCase()],
      ['a very long value', 'k'.repeat(1000)],
    ])('answers 401 INVALID_WEBHOOK_SECRET for %s', async (_, secret) => {
      const response = await post('/webhooks/connexease').set('Authorization', `Bearer ${secret}`).send(EVENT);
      expectWrongSecret(test, response);
      expect(response.body.error.message).toBe('Invalid webhook secret.');
      expectNoSecretLeaked(response, test.logger.lines);
    });

    it.each([
      ['two spaces after Bearer', `Bearer  ${WEBHOOK_SECRETS.connexease}`],
      ['a tab after Bearer', `Bearer\t${WEBHOOK_SECRETS.connexease}`],
      ['Bearer glued to the secret', `Bearer${WEBHOOK_SECRETS.connexease}`],
      ['the secret with no scheme', WEBHOOK_SECRETS.connexease],
      ['another scheme', `Basic ${WEBHOOK_SECRETS.connexease}`],
      ['two secrets', `Bearer ${WEBHOOK_SECRETS.connexease} ${WEBHOOK_SECRETS.connexease}`],
      ['Bearer alone', 'Bearer'],
    ])('answers 401 INVALID_WEBHOOK_SECRET (invalid_request) for %s', async (_, authorization) => {
      const response = await post('/webhooks/connexease').set('Authorization', authorization).send(EVENT);
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_request"');
      expect(response.body.error.message).toBe('Authorization header must be in the form "Bearer <webhook secret>".');
      expectNoSecretLeaked(response, test.logger.lines);
    });

    it('accepts the old and the new secret while one is rotated', async () => {
      for (const secret of [WEBHOOK_SECRETS.billingOld, WEBHOOK_SECRETS.billingNew]) {
        const response = await post('/webhooks/billing').set('Authorization', `Bearer ${secret}`).send(EVENT);
        expect(response.status).toBe(200);
      }
      expect(test.handlers.calls).toEqual(['billing', 'billing']);
    });

    it('refuses the default secret on a route that names another', async () => {
      const response = await post('/webhooks/billing')
        .set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`)
        .send(EVENT);
      expectWrongSecret(test, response);
    });

    it('checks the default secret where @UseGuards(WebhookSecretGuard) names none', async () => {
      expectWrongSecret(
        test,
        await post('/webhooks/plain').set('Authorization', `Bearer ${WEBHOOK_SECRETS.billingOld}`),
      );
      const response = await post('/webhooks/plain').set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`);
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['plain']);
    });

    it("applies a controller's secret to its routes, and a route's own name over it", async () => {
      expectWrongSecret(
        test,
        await post('/billing-events').set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`),
      );
      expect((await post('/billing-events').set('Authorization', `Bearer ${WEBHOOK_SECRETS.billingNew}`)).status).toBe(
        200,
      );
      expect(
        (await post('/billing-events/relayed').set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`)).status,
      ).toBe(200);
      expect(test.handlers.calls).toEqual(['billing-events', 'relayed']);
      test.handlers.calls.length = 0;
      expectWrongSecret(
        test,
        await post('/billing-events/relayed').set('Authorization', `Bearer ${WEBHOOK_SECRETS.billingNew}`),
      );
    });
  });

  it('answers in the connexease vocabulary with the same webhook codes', async () => {
    const test = await webhookApp(adapter, { errorFormat: 'connexease' });
    try {
      const post = () => request(test.app.getHttpServer()).post('/webhooks/connexease').send(EVENT);
      expectRefused(test, await post(), 401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
      expectRefused(
        test,
        await post().set('Authorization', `Token ${WEBHOOK_SECRETS.connexease}`),
        401,
        'INVALID_WEBHOOK_SECRET',
        'Bearer realm="api", error="invalid_request"',
      );
      expectWrongSecret(test, await post().set('Authorization', `Bearer ${WEBHOOK_SECRETS.stranger}`));
      expect((await post().set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`)).status).toBe(200);
    } finally {
      await test.close();
    }
  });

  it('answers with a custom error format', async () => {
    const test = await webhookApp(adapter, {
      errorFormat: (failure) => ({ status: 401, body: { problem: failure.reason } }),
    });
    try {
      const response = await request(test.app.getHttpServer())
        .post('/webhooks/connexease')
        .set('Authorization', `Bearer ${WEBHOOK_SECRETS.stranger}`);
      expect({ status: response.status, body: response.body, challenge: response.headers['www-authenticate'] }).toEqual(
        {
          status: 401,
          body: { problem: 'webhook_secret_invalid' },
          challenge: 'Bearer realm="api", error="invalid_token"',
        },
      );
      expect(test.handlers.calls).toEqual([]);
    } finally {
      await test.close();
    }
  });

  it('still checks the secret of a @Public() webhook route when every route needs an API key', async () => {
    const test = await createWebhookTestApp(adapter, {
      imports: [
        ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption(), protectAllRoutes: true }),
      ],
      controllers: [GlobalAppController],
    });
    try {
      const server = test.app.getHttpServer();
      expectRefused(test, await request(server).get('/me'), 401, 'AUTHENTICATION_REQUIRED', 'Bearer realm="api"');
      expectRefused(test, await request(server).post('/webhook'), 401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
      const response = await request(server)
        .post('/webhook')
        .set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`);
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['webhook']);
    } finally {
      await test.close();
    }
  });

  describe('refuses to start', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      [
        'with a secret shorter than 32 characters',
        { default: 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P' },
        /`webhookSecrets\.default` is 31 characters long; a webhook secret needs at least 32 random characters/,
      ],
      ['with an empty secret', { default: '' }, /`webhookSecrets\.default` is empty/],
      [
        'with an unset secret',
        { default: process.env.NEST_KEYRING_TEST_UNSET_SECRET },
        /`webhookSecrets\.default` is undefined: .*environment variable/,
      ],
      [
        'with one character repeated',
        { default: 'a'.repeat(64) },
        /`webhookSecrets\.default` is one character repeated/,
      ],
      [
        'with a short secret in a rotation',
        { default: WEBHOOK_SECRETS.connexease, billing: [WEBHOOK_SECRETS.billingOld, 'too-short'] },
        /`webhookSecrets\.billing\[1\]` is 9 characters long/,
      ],
    ])('%s', async (_, webhookSecrets, message) => {
      const attempt = webhookApp(adapter, { webhookSecrets: webhookSecrets as never });
      await expect(attempt).rejects.toThrow(KeyringConfigError);
      await expect(webhookApp(adapter, { webhookSecrets: webhookSecrets as never })).rejects.toThrow(message);
    });

    it('when a route names a secret that is not configured', async () => {
      const { billing: _billing, ...withoutBilling } = webhookSecretsOption();
      await expect(webhookApp(adapter, { webhookSecrets: withoutBilling })).rejects.toThrow(
        'nest-keyring: WebhooksController.billing checks the webhook secret "billing", ' +
          'but `webhookSecrets` has no such name (configured: default, events). ' +
          'Add `webhookSecrets.billing` or name a configured secret.',
      );
    });

    it('when a controller names a secret that is not configured', async () => {
      const { billing: _billing, ...withoutBilling } = webhookSecretsOption();
      await expect(webhookApp(adapter, { webhookSecrets: withoutBilling }, [BillingEventsController])).rejects.toThrow(
        /BillingEventsController\.receive checks the webhook secret "billing"/,
      );
    });

    it('when @UseGuards(WebhookSecretGuard) is used and no default secret is configured', async () => {
      const { default: _default, ...withoutDefault } = webhookSecretsOption();
      await expect(webhookApp(adapter, { webhookSecrets: withoutDefault }, [WebhooksController])).rejects.toThrow(
        /WebhooksController\.connexease checks the webhook secret "default", but `webhookSecrets` has no such name \(configured: billing, events\)/,
      );
    });

    it('when webhook routes exist and no webhookSecrets are configured', async () => {
      await expect(webhookApp(adapter, { webhookSecrets: undefined })).rejects.toThrow(
        /has no such name \(none is configured\)/,
      );
    });
  });

  it('starts without webhookSecrets when no route checks one', async () => {
    const test = await createWebhookTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS })],
      controllers: [],
    });
    await test.close();
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyModule, KeyringConfigError, WebhookSecret } from '../lib/index.js';
import { HandlerLog, ADAPTERS, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { createWebhookTestApp, expectNoSecretLeaked, expectRefused, NO_KEYS } from './fixtures/webhook-app.js';
import { SIGNING_SECRETS, signedHeaders, unpadded, webhookSecretsOption } from './fixtures/webhook-secrets.js';

// Spacing and key order that JSON.stringify would not reproduce: only the raw bytes verify.
const BODY = '{ "type": "message.received",  "data": {"text": "Merhaba \\u00e7", "from": "905321234567"} }';

@Controller('webhooks')
class EventsController {
  readonly received: unknown[] = [];
  constructor(private readonly handlers: HandlerLog) {}

  @WebhookSecret('events')
  @HttpCode(200)
  @Post('events')
  events(@Body() event: unknown) {
    this.handlers.ran('events');
    this.received.push(event);
    return { received: true };
  }
}

async function signedApp(
  adapter: AdapterName,
  rawBody: boolean,
  toleranceSeconds?: number,
  secrets: string[] = [SIGNING_SECRETS.previous, SIGNING_SECRETS.current],
): Promise<TestApp> {
  const webhookSecrets = {
    ...webhookSecretsOption(),
    events: { scheme: 'standard-webhooks' as const, secrets, toleranceSeconds },
  };
  return createWebhookTestApp(
    adapter,
    { imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets })], controllers: [EventsController] },
    { rawBody },
  );
}

describe.each(ADAPTERS)('signed webhooks (Standard Webhooks) on %s', (adapter) => {
  describe('with rawBody: true', () => {
    let test: TestApp;
    const deliver = (headers: Record<string, string>, body: string = BODY) =>
      request(test.app.getHttpServer())
        .post('/webhooks/events')
        .set({ 'Content-Type': 'application/json', ...headers })
        .send(body);
    beforeAll(async () => {
      test = await signedApp(adapter, true);
    });
    afterAll(() => test.close());
    beforeEach(() => {
      test.handlers.calls.length = 0;
      test.logger.lines.length = 0;
      test.app.get(EventsController).received.length = 0;
    });

    it('runs the handler for a payload the standardwebhooks package signed', async () => {
      const response = await deliver(signedHeaders(SIGNING_SECRETS.current, BODY));
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['events']);
      expect(test.app.get(EventsController).received).toEqual([JSON.parse(BODY)]);
    });

    it('accepts the previous secret while the signing secret is rotated', async () => {
      expect((await deliver(signedHeaders(SIGNING_SECRETS.previous, BODY))).status).toBe(200);
      expect(test.handlers.calls).toEqual(['events']);
    });

    it('accepts a header carrying several signatures, one of them good', async () => {
      const good = signedHeaders(SIGNING_SECRETS.current, BODY);
      const other = signedHeaders(SIGNING_SECRETS.stranger, BODY)['webhook-signature'];
      expect((await deliver({ ...good, 'webhook-signature': `${other} ${good['webhook-signature']}` })).status).toBe(
        200,
      );
      expect(test.handlers.calls).toEqual(['events']);
    });

    it('answers 401 INVALID_WEBHOOK_SIGNATURE for a tampered body', async () => {
      const response = await deliver(
        signedHeaders(SIGNING_SECRETS.current, BODY),
        BODY.replace('905321234567', '905329999999'),
      );
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
    });

    it('answers 401 INVALID_WEBHOOK_SIGNATURE for the same JSON re-serialised', async () => {
      const response = await deliver(signedHeaders(SIGNING_SECRETS.current, BODY), JSON.stringify(JSON.parse(BODY)));
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
    });

    it('answers 401 INVALID_WEBHOOK_SIGNATURE for a payload signed with another secret', async () => {
      const response = await deliver(signedHeaders(SIGNING_SECRETS.stranger, BODY));
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
      expect(response.body.error.message).toBe('Invalid webhook signature.');
      expectNoSecretLeaked(response, test.logger.lines);
    });

    it('answers 401 INVALID_WEBHOOK_SIGNATURE for a replay under another webhook-id', async () => {
      const headers = signedHeaders(SIGNING_SECRETS.current, BODY);
      expectRefused(
        test,
        await deliver({ ...headers, 'webhook-id': 'msg_replayed' }),
        401,
        'INVALID_WEBHOOK_SIGNATURE',
        'Webhook-Signature realm="api"',
      );
    });

    it.each([
      ['stale (10 minutes old)', -600],
      ['from the future (10 minutes ahead)', 600],
    ])('answers 401 INVALID_WEBHOOK_TIMESTAMP for a timestamp %s', async (_, seconds) => {
      const response = await deliver(
        signedHeaders(SIGNING_SECRETS.current, BODY, { at: new Date(Date.now() + seconds * 1000) }),
      );
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_TIMESTAMP', 'Webhook-Signature realm="api"');
    });

    it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
      'answers 401 WEBHOOK_SIGNATURE_REQUIRED without %s',
      async (name) => {
        const headers: Record<string, string> = signedHeaders(SIGNING_SECRETS.current, BODY);
        delete headers[name];
        expectRefused(test, await deliver(headers), 401, 'WEBHOOK_SIGNATURE_REQUIRED', 'Webhook-Signature realm="api"');
      },
    );

    it('answers 401 WEBHOOK_SIGNATURE_REQUIRED for a Bearer secret sent instead', async () => {
      expectRefused(
        test,
        await deliver({ Authorization: `Bearer ${SIGNING_SECRETS.current}` }),
        401,
        'WEBHOOK_SIGNATURE_REQUIRED',
        'Webhook-Signature realm="api"',
      );
    });
  });

  it('uses the configured tolerance', async () => {
    const test = await signedApp(adapter, true, 30);
    try {
      const at = new Date(Date.now() - 60_000);
      const response = await request(test.app.getHttpServer())
        .post('/webhooks/events')
        .set({ 'Content-Type': 'application/json', ...signedHeaders(SIGNING_SECRETS.current, BODY, { at }) })
        .send(BODY);
      expectRefused(test, response, 401, 'INVALID_WEBHOOK_TIMESTAMP', 'Webhook-Signature realm="api"');
    } finally {
      await test.close();
    }
  });

  it.each([
    [
      'padded secrets, configured without their "="',
      [SIGNING_SECRETS.current, SIGNING_SECRETS.twoPad],
      (secret: string) => secret,
      unpadded,
    ],
    [
      'unpadded secrets, configured with their "="',
      [SIGNING_SECRETS.current, SIGNING_SECRETS.twoPad],
      unpadded,
      (secret: string) => secret,
    ],
  ])('verifies what the standardwebhooks package signed with %s', async (_, secrets, signWith, configure) => {
    const test = await signedApp(adapter, true, undefined, secrets.map(configure));
    try {
      for (const secret of secrets) {
        const response = await request(test.app.getHttpServer())
          .post('/webhooks/events')
          .set({ 'Content-Type': 'application/json', ...signedHeaders(signWith(secret), BODY) })
          .send(BODY);
        expect(response.status).toBe(200);
      }
      expect(test.handlers.calls).toEqual(['events', 'events']);
    } finally {
      await test.close();
    }
  });

  it('refuses to start with a signing secret that is not base64, naming it and the rule, never its value', async () => {
    const urlSafe = SIGNING_SECRETS.stranger.replaceAll('/', '_').replaceAll('+', '-');
    const attempt = () =>
      createWebhookTestApp(adapter, {
        imports: [
          ApiKeyModule.forRoot({
            lookup: NO_KEYS,
            webhookSecrets: { events: { scheme: 'standard-webhooks', secrets: [SIGNING_SECRETS.current, urlSafe] } },
          }),
        ],
        controllers: [EventsController],
      });
    await expect(attempt()).rejects.toThrow(KeyringConfigError);
    const error = (await attempt().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as Error;
    expect(error.message).toMatch(
      /`webhookSecrets\.events\.secrets\[1\]` is not a Standard Webhooks secret: expected `whsec_` followed by base64 \(A-Z, a-z, 0-9, \+ and \/, then up to two `=`, which may be left out\)/,
    );
    expect(error.message).not.toContain(urlSafe.slice('whsec_'.length, 20));
  });

  it('refuses to start with a signing secret that is too short', async () => {
    const short = `whsec_${Buffer.from('sixteen-byte-key').toString('base64')}`;
    const attempt = () =>
      createWebhookTestApp(adapter, {
        imports: [
          ApiKeyModule.forRoot({
            lookup: NO_KEYS,
            webhookSecrets: { events: { scheme: 'standard-webhooks', secrets: short } },
          }),
        ],
        controllers: [EventsController],
      });
    await expect(attempt()).rejects.toThrow(KeyringConfigError);
    await expect(attempt()).rejects.toThrow(
      /`webhookSecrets\.events\.secrets` decodes to 16 bytes; a signing secret needs at least 24 random bytes/,
    );
  });
});

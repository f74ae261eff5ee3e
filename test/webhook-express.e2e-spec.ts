import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express, { type Express, type RequestHandler } from 'express';
import request from 'supertest';
import { ApiKeyModule, KeyringConfigError } from '../lib/index.js';
import { webhookSecretMiddleware, type WebhookSecretMiddlewareOptions } from '../lib/express.js';
import { type TestApp } from './fixtures/test-app.js';
import { webhookController } from './fixtures/routes-controller.js';
import { createWebhookTestApp, expectNoSecretLeaked, expectRefused, NO_KEYS } from './fixtures/webhook-app.js';
import {
  oneCharacterOff,
  SIGNING_SECRETS,
  signedHeaders,
  unpadded,
  WEBHOOK_SECRETS,
  webhookSecretsOption,
} from './fixtures/webhook-secrets.js';

const EVENT = { type: 'message.received', data: { from: '905321234567', text: 'Hello!' } };
const SIGNED_BODY = '{ "type": "message.received",  "data": {"text": "Merhaba"} }';

interface ExpressHarness {
  app: Express;
  /** What ran after the middleware: the body parser and the handlers. */
  ran: string[];
  errors: string[];
}

/** The seed's Express receiver, with the package's middleware in place of its `if`. */
function expressApp(options: Partial<WebhookSecretMiddlewareOptions> = {}): ExpressHarness {
  const harness: ExpressHarness = { app: express(), ran: [], errors: [] };
  const middleware = (name?: string) =>
    webhookSecretMiddleware({
      webhookSecrets: webhookSecretsOption(),
      name,
      logger: { error: (line) => harness.errors.push(line) },
      ...options,
    });
  const json = express.json();
  // A body parser that says when it runs: it must not, for a refused request.
  const parseBody: RequestHandler = (req, res, next) => {
    harness.ran.push('body-parser');
    json(req, res, next);
  };
  const handler =
    (name: string): RequestHandler =>
    (req, res) => {
      harness.ran.push(name);
      res.status(200).json({ received: req.body });
    };
  const { app } = harness;
  app.post('/webhook', middleware(), parseBody, handler('webhook'));
  app.post('/billing', middleware('billing'), parseBody, handler('billing'));
  // Signed webhooks need the raw bytes: express.raw() before the middleware...
  app.post('/events', express.raw({ type: 'application/json' }), middleware('events'), (req, res) => {
    harness.ran.push('events');
    res.status(200).json({ received: JSON.parse((req.body as Buffer).toString('utf8')) });
  });
  // ...or express.json() keeping them in req.rawBody.
  app.post(
    '/events-json',
    express.json({ verify: (req, _res, buffer) => Object.assign(req, { rawBody: buffer }) }),
    middleware('events'),
    handler('events-json'),
  );
  // Mounted before any parser: nothing kept the raw body.
  app.post('/events-unparsed', middleware('events'), parseBody, handler('events-unparsed'));
  return harness;
}

function expectRefusedHere(
  h: ExpressHarness,
  response: request.Response,
  status: number,
  code: string,
  challenge?: string,
): void {
  expectRefused(h.ran, response, status, code, challenge);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
}

describe('webhookSecretMiddleware on plain Express', () => {
  let h: ExpressHarness;
  const post = (path: string) => request(h.app).post(path);
  beforeAll(() => {
    h = expressApp();
  });
  beforeEach(() => {
    h.ran.length = 0;
    h.errors.length = 0;
  });

  it('lets the right secret through to the body parser and the handler', async () => {
    const response = await post('/webhook').set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`).send(EVENT);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: EVENT });
    expect(h.ran).toEqual(['body-parser', 'webhook']);
  });

  it.each([
    ['bearer', `bearer ${WEBHOOK_SECRETS.connexease}`],
    ['BEARER', `BEARER ${WEBHOOK_SECRETS.connexease}`],
    ['with surrounding whitespace, which HTTP strips', `  Bearer ${WEBHOOK_SECRETS.connexease}  `],
  ])('accepts the scheme written %s', async (_, authorization) => {
    expect((await post('/webhook').set('Authorization', authorization).send(EVENT)).status).toBe(200);
    expect(h.ran).toEqual(['body-parser', 'webhook']);
  });

  it('answers 401 WEBHOOK_SECRET_REQUIRED without the header, before reading the body', async () => {
    expectRefusedHere(h, await post('/webhook').send(EVENT), 401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
  });

  it.each([
    ['a wrong secret', WEBHOOK_SECRETS.stranger],
    ['the secret of another name', WEBHOOK_SECRETS.billingOld],
    ['the secret one character off at the start', oneCharacterOff(WEBHOOK_SECRETS.connexease, 'start')],
    ['the secret one character off at the end', oneCharacterOff(WEBHOOK_SECRETS.connexease, 'end')],
  ])('answers 401 INVALID_WEBHOOK_SECRET for %s, before reading the body', async (_, secret) => {
    const response = await post('/webhook').set('Authorization', `Bearer ${secret}`).send(EVENT);
    expectRefusedHere(h, response, 401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_token"');
    expectNoSecretLeaked(response, h.errors);
  });

  it.each([
    ['two spaces', `Bearer  ${WEBHOOK_SECRETS.connexease}`],
    ['a tab', `Bearer\t${WEBHOOK_SECRETS.connexease}`],
    ['no scheme', WEBHOOK_SECRETS.connexease],
  ])('answers 401 INVALID_WEBHOOK_SECRET (invalid_request) for %s', async (_, authorization) => {
    expectRefusedHere(
      h,
      await post('/webhook').set('Authorization', authorization).send(EVENT),
      401,
      'INVALID_WEBHOOK_SECRET',
      'Bearer realm="api", error="invalid_request"',
    );
  });

  it('refuses a body larger than the parser allows with 401, not 413: the body is never read', async () => {
    const huge = JSON.stringify({ padding: 'x'.repeat(512 * 1024) });
    const response = await post('/webhook')
      .set('Authorization', `Bearer ${WEBHOOK_SECRETS.stranger}`)
      .set('Content-Type', 'application/json')
      .send(huge);
    expectRefusedHere(h, response, 401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_token"');
  });

  it('accepts the old and the new secret during a rotation', async () => {
    for (const secret of [WEBHOOK_SECRETS.billingOld, WEBHOOK_SECRETS.billingNew]) {
      expect((await post('/billing').set('Authorization', `Bearer ${secret}`).send(EVENT)).status).toBe(200);
    }
    expect(h.ran).toEqual(['body-parser', 'billing', 'body-parser', 'billing']);
    h.ran.length = 0;
    expectRefusedHere(
      h,
      await post('/billing').set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`).send(EVENT),
      401,
      'INVALID_WEBHOOK_SECRET',
      'Bearer realm="api", error="invalid_token"',
    );
  });

  describe('signed webhooks', () => {
    it.each(['/events', '/events-json'])('verifies what the standardwebhooks package signed, on %s', async (path) => {
      const response = await post(path)
        .set({ 'Content-Type': 'application/json', ...signedHeaders(SIGNING_SECRETS.current, SIGNED_BODY) })
        .send(SIGNED_BODY);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: JSON.parse(SIGNED_BODY) });
    });

    it(
      'verifies what the standardwebhooks package signed with the padded secret, ' + 'configured without its "="',
      async () => {
        const unpaddedApp = express();
        const secrets = {
          events: {
            scheme: 'standard-webhooks' as const,
            secrets: [unpadded(SIGNING_SECRETS.current), unpadded(SIGNING_SECRETS.twoPad)],
          },
        };
        unpaddedApp.post(
          '/events',
          express.raw({ type: 'application/json' }),
          webhookSecretMiddleware({ webhookSecrets: secrets, name: 'events' }),
          (_req, res) => {
            res.sendStatus(200);
          },
        );
        for (const secret of [SIGNING_SECRETS.current, SIGNING_SECRETS.twoPad]) {
          const response = await request(unpaddedApp)
            .post('/events')
            .set({ 'Content-Type': 'application/json', ...signedHeaders(secret, SIGNED_BODY) })
            .send(SIGNED_BODY);
          expect(response.status).toBe(200);
        }
      },
    );

    it.each<[string, () => Record<string, string>, string, string]>([
      [
        'a tampered body',
        () => signedHeaders(SIGNING_SECRETS.current, SIGNED_BODY),
        SIGNED_BODY.replace('Merhaba', 'Merhabe'),
        'INVALID_WEBHOOK_SIGNATURE',
      ],
      [
        'another secret',
        () => signedHeaders(SIGNING_SECRETS.stranger, SIGNED_BODY),
        SIGNED_BODY,
        'INVALID_WEBHOOK_SIGNATURE',
      ],
      [
        'a stale timestamp',
        () => signedHeaders(SIGNING_SECRETS.current, SIGNED_BODY, { at: new Date(Date.now() - 600_000) }),
        SIGNED_BODY,
        'INVALID_WEBHOOK_TIMESTAMP',
      ],
      [
        'a future timestamp',
        () => signedHeaders(SIGNING_SECRETS.current, SIGNED_BODY, { at: new Date(Date.now() + 600_000) }),
        SIGNED_BODY,
        'INVALID_WEBHOOK_TIMESTAMP',
      ],
      ['no signature headers', () => ({}), SIGNED_BODY, 'WEBHOOK_SIGNATURE_REQUIRED'],
    ])('refuses %s', async (_, headers, body, code) => {
      const response = await post('/events')
        .set({ 'Content-Type': 'application/json', ...headers() })
        .send(body);
      expectRefusedHere(h, response, 401, code, 'Webhook-Signature realm="api"');
    });

    it(
      'refuses 401 INVALID_WEBHOOK_SIGNATURE when mounted before any parser, ' + 'never 500, and says the fix once',
      async () => {
        const response = await post('/events-unparsed')
          .set({ 'Content-Type': 'application/json', ...signedHeaders(SIGNING_SECRETS.current, SIGNED_BODY) })
          .send(SIGNED_BODY);
        expectRefusedHere(h, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
        expect(h.errors).toEqual([
          expect.stringMatching(
            /^\[nest-keyring\] .*not kept as raw bytes.*express\.raw\(\{ type: 'application\/json' \}\)/s,
          ),
        ]);
        expectNoSecretLeaked(response, h.errors);
      },
    );
  });

  it('answers in the connexease vocabulary, or a custom one', async () => {
    const connexease = expressApp({ errorFormat: 'connexease' });
    expectRefusedHere(
      connexease,
      await request(connexease.app).post('/webhook'),
      401,
      'WEBHOOK_SECRET_REQUIRED',
      'Bearer realm="api"',
    );
    const custom = expressApp({ errorFormat: (failure) => ({ status: 403, body: { problem: failure.reason } }) });
    const response = await request(custom.app)
      .post('/webhook')
      .set('Authorization', `Bearer ${WEBHOOK_SECRETS.stranger}`);
    expect({ status: response.status, body: response.body }).toEqual({
      status: 403,
      body: { problem: 'webhook_secret_invalid' },
    });
    expect(custom.ran).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ['no options', undefined, /webhookSecretMiddleware\(options\) needs `\{ webhookSecrets \}`/],
    [
      'no secrets',
      {},
      /webhookSecretMiddleware\(\{ name: "default" \}\) checks the webhook secret "default", but `webhookSecrets` has no such name \(none is configured\)/,
    ],
    [
      'a secret shorter than 32 characters',
      { webhookSecrets: { default: 'too-short-a-secret' } },
      /`webhookSecrets\.default` is 18 characters long/,
    ],
    ['an empty secret', { webhookSecrets: { default: '' } }, /`webhookSecrets\.default` is empty/],
    ['one character repeated', { webhookSecrets: { default: '0'.repeat(48) } }, /one character repeated/],
    [
      'an unknown name',
      { webhookSecrets: webhookSecretsOption(), name: 'stripe' },
      /"stripe", but `webhookSecrets` has no such name \(configured: default, billing, events\)/,
    ],
    [
      'an unknown error format',
      { webhookSecrets: webhookSecretsOption(), errorFormat: 'stripe' },
      /`errorFormat` must be 'cubeconnect', 'connexease' or a function/,
    ],
  ])('refuses to build with %s', (_, options, message) => {
    const attempt = () => webhookSecretMiddleware(options as WebhookSecretMiddlewareOptions);
    expect(attempt).toThrow(KeyringConfigError);
    expect(attempt).toThrow(message);
  });
});

const SameRouteController = webhookController('SameRouteController', '', [{ path: 'webhook' }]);

describe('webhookSecretMiddleware and WebhookSecretGuard', () => {
  let nest: TestApp;
  let plain: ExpressHarness;
  beforeAll(async () => {
    nest = await createWebhookTestApp('express', {
      imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption() })],
      controllers: [SameRouteController],
    });
    plain = expressApp();
  });
  afterAll(() => nest.close());

  it.each<[string, Record<string, string>]>([
    ['no header', {}],
    ['a wrong secret', { Authorization: `Bearer ${WEBHOOK_SECRETS.stranger}` }],
    ['a malformed header', { Authorization: `Bearer  ${WEBHOOK_SECRETS.connexease}` }],
  ])('answer %s with the same status, body and challenge', async (_, headers) => {
    const fromNest = await request(nest.app.getHttpServer()).post('/webhook').set(headers).send(EVENT);
    const fromExpress = await request(plain.app).post('/webhook').set(headers).send(EVENT);
    const answer = (response: request.Response) => ({
      status: response.status,
      body: response.body,
      challenge: response.headers['www-authenticate'],
      type: response.headers['content-type'],
    });
    expect(answer(fromExpress)).toEqual(answer(fromNest));
    expect(nest.handlers.calls).toEqual([]);
  });
});

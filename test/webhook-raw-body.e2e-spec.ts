import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express, { type Express, type RequestHandler } from 'express';
import request from 'supertest';
import { ApiKeyModule, KeyringConfigError, WebhookSecret, type ApiKeyModuleOptions } from '../lib/index.js';
import { ADAPTERS, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { webhookController } from './fixtures/routes-controller.js';
import {
  createFactoryApp,
  createWebhookTestApp,
  expectNoSecretLeaked,
  expectRefused,
  linesAt,
  NO_KEYS,
  testSecretMiddleware,
  type FactoryAppOptions,
} from './fixtures/webhook-app.js';
import { SIGNING_SECRETS, signedHeaders, WEBHOOK_SECRETS, webhookSecretsOption } from './fixtures/webhook-secrets.js';

const BODY = '{ "type": "message.received",  "data": {"text": "Merhaba"} }';

/** What an anonymous sender can put in front of a signed-webhook route: a current timestamp, the rest junk. */
function junkSignatureHeaders(): Record<string, string> {
  return {
    'webhook-id': 'msg_junk',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl',
  };
}

const EventsController = webhookController('EventsController', 'webhooks', [
  { path: 'events', decorators: [WebhookSecret('events')], answer: 'body' },
]);

/** Bearer-secret routes only: nothing here needs a raw body. */
const BearerOnlyController = webhookController('BearerOnlyController', 'webhooks', [{ path: 'connexease' }]);

function moduleWith(options: Partial<ApiKeyModuleOptions> = {}) {
  return ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption(), ...options });
}

function factoryApp(
  adapter: AdapterName,
  options: FactoryAppOptions,
  moduleOptions: Partial<ApiKeyModuleOptions> = {},
  controllers: unknown[] = [EventsController],
) {
  return createFactoryApp(
    adapter,
    { imports: [moduleWith(moduleOptions)], controllers: controllers as never[] },
    options,
  );
}

// A testing module compiles its providers before the app (and its HTTP adapter) exists. Nest 11
// and later announce the adapter when it arrives (`HttpAdapterHost.init$`); Nest 10 does not, so
// there the start-up check cannot see the app's options and the request-time warning stands in.
const TESTING_MODULE_ANNOUNCES_ADAPTER = 'init$' in HttpAdapterHost.prototype;

const RAW_BODY_FIX = /NestFactory\.create\(AppModule, \{ rawBody: true \}\)/;
const NOT_KEPT_WARNING =
  /signed webhook arrived with a body that was not kept as raw bytes.*refused as unverifiable \(401\).*NestFactory\.create\(AppModule, \{ rawBody: true \}\)/s;

/** A signed delivery the way the sender makes it. */
function deliver(
  app: INestApplication | Express,
  body: string = BODY,
  headers: Record<string, string> = signedHeaders(SIGNING_SECRETS.current, body),
  path = '/webhooks/events',
) {
  return request('getHttpServer' in app ? app.getHttpServer() : app)
    .post(path)
    .set({ 'Content-Type': 'application/json', ...headers })
    .send(body);
}

/**
 * Refuses a delivery whose raw body nobody kept, `attempts` times 401 INVALID_WEBHOOK_SIGNATURE with no
 * handler run, with no error logged and one warning that names the fix.
 */
async function expectUnkeptBodyRefused(test: TestApp, attempts = 2) {
  for (let attempt = 0; attempt < attempts; attempt += 1)
    expectRefused(test, await deliver(test.app), 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
  expect(linesAt(test.logger, 'error')).toEqual([]);
  expect(linesAt(test.logger, 'warn')).toEqual([expect.stringMatching(NOT_KEPT_WARNING)]);
}

describe.each(ADAPTERS)('signed webhooks and the raw body on %s', (adapter) => {
  describe('an app created with rawBody: true', () => {
    let test: TestApp;
    beforeAll(async () => {
      test = await factoryApp(adapter, { rawBody: true });
    });
    afterAll(() => test.close());
    beforeEach(() => {
      test.handlers.calls.length = 0;
    });

    it('starts and verifies a signed delivery', async () => {
      const response = await deliver(test.app);
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['events']);
    });

    it(
      'answers an anonymous text/plain delivery with junk signature headers 401 INVALID_WEBHOOK_SIGNATURE, never ' +
        '500, with no error logged and one warning at most',
      async () => {
        test.logger.lines.length = 0;
        for (let attempt = 0; attempt < 3; attempt += 1) {
          const response = await request(test.app.getHttpServer())
            .post('/webhooks/events')
            .set({ 'Content-Type': 'text/plain', ...junkSignatureHeaders() })
            .send('not what anyone signed');
          expectRefused(test, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
          expect(response.body.error.message).toBe('Invalid webhook signature.');
          expectNoSecretLeaked(response, test.logger.lines);
        }
        expect(linesAt(test.logger, 'error')).toEqual([]);
        expect(linesAt(test.logger, 'warn').length).toBeLessThanOrEqual(1);
      },
    );
  });

  describe('start-up', () => {
    it(
      'refuses to start without rawBody when a route checks a signed webhook, ' + 'naming the route and the fix',
      async () => {
        const attempt = factoryApp(adapter, { rawBody: false });
        await expect(attempt).rejects.toThrow(KeyringConfigError);
        await expect(factoryApp(adapter, { rawBody: false })).rejects.toThrow(
          /EventsController\.events checks a Standard Webhooks signature.*NestFactory\.create\(AppModule, \{ rawBody: true \}\).*webhookRawBody: 'app'/s,
        );
      },
    );

    it('starts without rawBody when only Bearer secrets are checked', async () => {
      const test = await factoryApp(adapter, { rawBody: false }, {}, [BearerOnlyController]);
      try {
        const response = await request(test.app.getHttpServer())
          .post('/webhooks/connexease')
          .set('Authorization', `Bearer ${WEBHOOK_SECRETS.connexease}`);
        expect(response.status).toBe(200);
      } finally {
        await test.close();
      }
    });

    it(
      TESTING_MODULE_ANNOUNCES_ADAPTER
        ? 'refuses to start without rawBody in a testing module as well'
        : 'starts without rawBody in a testing module (the options are out of sight), then refuses signed deliveries ' +
            '401 and warns once',
      async () => {
        const attempt = () =>
          createWebhookTestApp(
            adapter,
            { imports: [moduleWith()], controllers: [EventsController] },
            { rawBody: false },
          );
        if (TESTING_MODULE_ANNOUNCES_ADAPTER) {
          await expect(attempt()).rejects.toThrow(RAW_BODY_FIX);
          return;
        }
        const test = await attempt();
        try {
          await expectUnkeptBodyRefused(test);
        } finally {
          await test.close();
        }
      },
    );

    it(
      "starts without rawBody with webhookRawBody: 'app', and verifies against the raw body the app's own parser " +
        'keeps',
      async () => {
        const keepRawBody: FactoryAppOptions['beforeInit'] =
          adapter === 'express'
            ? (app) => app.use(express.json({ verify: (req, _res, buffer) => Object.assign(req, { rawBody: buffer }) }))
            : (app) =>
                app
                  .getHttpAdapter()
                  .getInstance()
                  .addContentTypeParser(
                    'application/webhook+json',
                    { parseAs: 'buffer' },
                    (req: { rawBody?: Buffer }, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
                      req.rawBody = body;
                      done(null, JSON.parse(body.toString('utf8')));
                    },
                  );
        const test = await factoryApp(adapter, { rawBody: false, beforeInit: keepRawBody }, { webhookRawBody: 'app' });
        try {
          const type = adapter === 'express' ? 'application/json' : 'application/webhook+json';
          const response = await deliver(test.app, BODY, {
            ...signedHeaders(SIGNING_SECRETS.current, BODY),
            'Content-Type': type,
          });
          expect(response.status).toBe(200);
          expect(response.body).toEqual({ received: JSON.parse(BODY) });
          expect(test.handlers.calls).toEqual(['events']);
          expect(linesAt(test.logger, 'warn')).toEqual([]);
        } finally {
          await test.close();
        }
      },
    );

    it(
      'starts with bodyParser: false (the app parses bodies itself), then refuses a delivery whose raw body nobody ' +
        'kept 401 and warns once',
      async () => {
        const test = await factoryApp(adapter, { rawBody: true, bodyParser: false });
        try {
          await expectUnkeptBodyRefused(test);
        } finally {
          await test.close();
        }
      },
    );

    it.each<[string, unknown, RegExp]>([
      ['an unknown webhookRawBody', 'express', /`webhookRawBody` must be 'nest' or 'app'; got "express"/],
      [
        'webhookRawBody without a Standard Webhooks secret',
        'app',
        /`webhookRawBody` only applies to `scheme: 'standard-webhooks'` secrets, and none is configured/,
      ],
    ])('refuses to start with %s', async (_, webhookRawBody, message) => {
      const webhookSecrets =
        webhookRawBody === 'app' ? { default: WEBHOOK_SECRETS.connexease } : webhookSecretsOption();
      const attempt = () =>
        factoryApp(adapter, { rawBody: true }, { webhookSecrets, webhookRawBody: webhookRawBody as never }, [
          BearerOnlyController,
        ]);
      await expect(attempt()).rejects.toThrow(KeyringConfigError);
      await expect(attempt()).rejects.toThrow(message);
    });
  });
});

describe('signed webhooks and the raw body on Nest with Express', () => {
  it(
    'refuses a JSON delivery the app parsed without keeping its raw bytes 401 INVALID_WEBHOOK_SIGNATURE, and warns ' +
      'once with the fix',
    async () => {
      // `app.use(express.json())` before init replaces Nest's own JSON parser, which kept the raw body.
      const test = await factoryApp('express', { rawBody: true, beforeInit: (app) => app.use(express.json()) });
      try {
        await expectUnkeptBodyRefused(test, 3);
        expectNoSecretLeaked({ text: '', headers: {} } as request.Response, test.logger.lines);
      } finally {
        await test.close();
      }
    },
  );
});

describe('webhookSecretMiddleware and the raw body on plain Express', () => {
  const warnings: string[] = [];
  const errors: string[] = [];
  const ran: string[] = [];
  const app = express();
  const logger = { error: (line: string) => errors.push(line), warn: (line: string) => warnings.push(line) };
  const handler: RequestHandler = (_req, res) => {
    ran.push('handler');
    res.sendStatus(200);
  };
  app.post('/events', express.raw({ type: 'application/json' }), testSecretMiddleware(logger), handler);
  // Mounted before any parser: nothing keeps the raw body.
  app.post('/events-unparsed', testSecretMiddleware(logger), express.json(), handler);
  beforeEach(() => {
    warnings.length = 0;
    errors.length = 0;
    ran.length = 0;
  });

  const expectUnverifiable = (response: request.Response) =>
    expectRefused(ran, response, 401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');

  it(
    'answers an anonymous text/plain delivery with junk signature headers 401, never 500, with no error logged and ' +
      'one warning at most',
    async () => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expectUnverifiable(
          await request(app)
            .post('/events')
            .set({ 'Content-Type': 'text/plain', ...junkSignatureHeaders() })
            .send('not what anyone signed'),
        );
      }
      expect(errors).toEqual([]);
      expect(warnings.length).toBeLessThanOrEqual(1);
    },
  );

  it('refuses signed deliveries 401 when mounted before any parser, and warns once with the fix', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expectUnverifiable(await deliver(app, BODY, undefined, '/events-unparsed'));
    }
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^\[nest-keyring\] .*not kept as raw bytes.*express\.raw\(\{ type: 'application\/json' \}\)/s,
      ),
    ]);
    expectNoSecretLeaked({ text: '', headers: {} } as request.Response, warnings);
  });

  it('warns through logger.error when the logger has no warn', async () => {
    const lines: string[] = [];
    const only = express();
    only.post('/events', testSecretMiddleware({ error: (line) => lines.push(line) }), handler);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expectUnverifiable(await deliver(only, BODY, undefined, '/events'));
    }
    expect(lines).toEqual([expect.stringMatching(/not kept as raw bytes/)]);
  });
});

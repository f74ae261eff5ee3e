import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Post,
  Req,
  RequestMethod,
  UseGuards,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import express from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyGuard,
  ApiKeyNestMiddleware,
  ApiKeyModule,
  Keyring,
  Public,
  RequireScopes,
  TenantNestMiddleware,
  type ApiKeyLookup,
  type ApiKeyModuleOptions,
  type ApiKeyRecord,
  type KeyringOptions,
} from '../lib/index.js';
import { apiKeyMiddleware, tenantMiddleware } from '../lib/express.js';
import { InMemoryLookup, KEYS, withChecksum } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, type TestApp } from './fixtures/test-app.js';
import { routesController, webhookController } from './fixtures/routes-controller.js';
import { WEBHOOK_SECRETS } from './fixtures/webhook-secrets.js';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const MISSING = { status: 401, code: 'AUTHENTICATION_REQUIRED' };

// ---------------------------------------------------------------------------------------------
// @Public() on a controller, and a route's own auth: the nearest declaration wins.

const PublicController = routesController(
  'PublicController',
  'open',
  [
    { method: 'GET', path: 'plain', answer: { open: true } },
    { method: 'GET', path: 'api-key-auth', decorators: [ApiKeyAuth()], answer: { open: false } },
    { method: 'GET', path: 'use-guards', decorators: [UseGuards(ApiKeyGuard)], answer: { open: false } },
    { method: 'GET', path: 'scoped', decorators: [RequireScopes('reports:read')], answer: { open: false } },
  ],
  [Public()],
);

// No @Public(): under the app-wide guard, a webhook route is checked by its secret only.
const WebhookController = webhookController('WebhookController', 'webhooks', [{ path: '', ran: 'webhook' }]);

describe.each(ADAPTERS)("@Public() and a route's own auth, on %s", (adapter) => {
  describe.each([false, true])('protectAllRoutes: %s', (protectAllRoutes) => {
    let test: TestApp;
    beforeAll(async () => {
      test = await createTestApp(adapter, {
        imports: [
          ApiKeyModule.forRoot({
            lookup: new InMemoryLookup(),
            webhookSecrets: { default: WEBHOOK_SECRETS.connexease },
            protectAllRoutes,
          }),
        ],
        controllers: [PublicController, WebhookController],
      });
    });
    afterAll(() => test.close());
    afterEach(() => {
      test.handlers.calls.length = 0;
    });

    it.each(['api-key-auth', 'use-guards', 'scoped'])(
      "enforces the route's own auth inside a @Public() controller (/open/%s)",
      async (route) => {
        const response = await request(test.app.getHttpServer()).get(`/open/${route}`);
        expect({ status: response.status, code: response.body.error?.code }).toEqual(MISSING);
        expect(test.handlers.calls).toEqual([]);
      },
    );

    it("enforces the route's own scopes inside a @Public() controller", async () => {
      const response = await request(test.app.getHttpServer()).get('/open/scoped').set(bearer(KEYS.production));
      expect({ status: response.status, code: response.body.error?.code }).toEqual({
        status: 403,
        code: 'INSUFFICIENT_SCOPE',
      });
      expect(test.handlers.calls).toEqual([]);
    });

    it("lets a route that declares nothing take its controller's @Public()", async () => {
      const response = await request(test.app.getHttpServer()).get('/open/plain');
      expect(response.status).toBe(200);
      expect(test.handlers.calls).toEqual(['plain']);
    });

    it('checks a webhook route by its secret only, with or without the app-wide guard', async () => {
      const server = test.app.getHttpServer();
      const delivered = await request(server)
        .post('/webhooks')
        .set(bearer(WEBHOOK_SECRETS.connexease))
        .send({ event: 'x' });
      expect(delivered.status).toBe(200);
      const refused = await request(server)
        .post('/webhooks')
        .set(bearer(WEBHOOK_SECRETS.stranger))
        .send({ event: 'x' });
      expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
        status: 401,
        code: 'INVALID_WEBHOOK_SECRET',
      });
      expect(test.handlers.calls).toEqual(['webhook']);
    });
  });

  it.each([
    [
      'a route',
      routesController('ContradictoryController', '', [
        { method: 'GET', path: 'both', decorators: [ApiKeyAuth(), Public()], answer: {} },
      ]),
      /ContradictoryController\.both is both @Public\(\) and protected by an API key/,
    ],
    [
      'a controller',
      routesController(
        'ContradictoryController',
        '',
        [{ method: 'GET', path: 'both', answer: {} }],
        [RequireScopes('admin'), Public()],
      ),
      /ContradictoryController is both @Public\(\) and protected by an API key/,
    ],
  ])('refuses at start-up %s that is both @Public() and protected, naming it', async (_, controller, message) => {
    await expect(
      createTestApp(adapter, {
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup() })],
        controllers: [controller],
      }),
    ).rejects.toThrow(message);
  });
});

// ---------------------------------------------------------------------------------------------
// Late answers: the response was already sent (a timeout answered) while the store looked up.

const SLOW_UNKNOWN = withChecksum('pk_slowunknown_1a2b');
const SLOW_KNOWN = withChecksum('pk_slowknown_3c4d');

/** A store that answers after 80 ms: an unknown key, or a known one. */
function slowLookup(): ApiKeyLookup & { calls: number } {
  const lookup = {
    calls: 0,
    async findKey(key: string): Promise<ApiKeyRecord | null> {
      lookup.calls++;
      await sleep(80);
      if (key === SLOW_KNOWN) return { id: 'slow-known', tenants: [{ id: 1 }] };
      return new InMemoryLookup().findKey(key);
    },
  };
  return lookup;
}

/** Answers 503 after 20 ms, as a request-timeout middleware does. */
function timeoutMiddleware(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
  const timer = setTimeout(() => {
    response.statusCode = 503;
    response.setHeader('Content-Type', 'application/json');
    response.end('{"timeout":true}');
  }, 20);
  response.on('close', () => clearTimeout(timer));
  next();
}

/** Collects unhandled rejections for the duration of a test. */
function watchUnhandledRejections(): { seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return { seen, stop: () => process.off('unhandledRejection', listener) };
}

async function listen(app: express.Express): Promise<Server> {
  return new Promise<Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('late answers and failing formatters in the Express middleware', () => {
  let watcher: ReturnType<typeof watchUnhandledRejections>;
  beforeAll(() => {
    watcher = watchUnhandledRejections();
  });
  afterAll(() => watcher.stop());

  async function expressApp(options: Partial<KeyringOptions>, mount: 'apiKey' | 'tenant') {
    const lookup = slowLookup();
    const keyring = new Keyring({ lookup, cache: false, ...options });
    const handlers: string[] = [];
    const errors: unknown[] = [];
    const app = express();
    const chain =
      mount === 'apiKey'
        ? [apiKeyMiddleware(keyring, { logger: { error: () => undefined } })]
        : [
            // Another mechanism authenticated the request; tenants come from a slow resolver.
            (req: IncomingMessage & { apiKey?: ApiKeyRecord }, _res: ServerResponse, next: () => void) => {
              req.apiKey = { id: 'other' };
              next();
            },
            tenantMiddleware(keyring, { logger: { error: () => undefined } }),
          ];
    app.get('/late', timeoutMiddleware, ...chain, (_req, res) => {
      handlers.push('late');
      res.json({ ran: true });
    });
    app.get('/fast', ...chain, (_req, res) => {
      handlers.push('fast');
      res.json({ ran: true });
    });
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(error);
      if (!res.headersSent) res.status(500).json({ error: 'formatter failed' });
    });
    return { server: await listen(app), handlers, errors, lookup };
  }

  it.each([
    ['apiKeyMiddleware refusing an unknown key', {}, 'apiKey', bearer(SLOW_UNKNOWN)],
    ['apiKeyMiddleware granting a known key', {}, 'apiKey', bearer(SLOW_KNOWN)],
    [
      'tenantMiddleware refusing an unknown tenant',
      { resolveTenants: async () => (await sleep(80), [{ id: 1 }]) },
      'tenant',
      { 'X-TENANT-ID': '9' },
    ],
    [
      'tenantMiddleware choosing a tenant',
      { resolveTenants: async () => (await sleep(80), [{ id: 1 }]) },
      'tenant',
      {},
    ],
  ] as const)(
    '%s after a timeout answered: nothing written, handler not run, no unhandled rejection',
    async (_, options, mount, headers) => {
      const { server, handlers } = await expressApp(options, mount);
      try {
        const response = await request(server).get('/late').set(headers);
        expect([response.status, response.body]).toEqual([503, { timeout: true }]);
        await sleep(150);
        expect(handlers).toEqual([]);
        expect(watcher.seen).toEqual([]);
        // The process lives on and serves the next request.
        const next = await request(server).get('/fast').set(bearer(KEYS.production));
        expect(next.status).toBeLessThan(500);
      } finally {
        await close(server);
      }
    },
  );

  it.each(['apiKey', 'tenant'] as const)(
    'sends a throwing errorFormat to next(error) (%s middleware), async and sync',
    async (mount) => {
      const errorFormat = () => {
        throw new Error('formatter bug');
      };
      const options =
        mount === 'apiKey'
          ? { errorFormat }
          : { errorFormat, resolveTenants: async () => (await sleep(10), [{ id: 1 }]) };
      const { server, handlers, errors } = await expressApp(options, mount);
      try {
        // Async: the slow store refuses; sync: a malformed header is refused before any lookup.
        const refusals =
          mount === 'apiKey' ? [bearer(SLOW_UNKNOWN), { Authorization: 'Basic x' }] : [{ 'X-TENANT-ID': '9' }];
        for (const headers of refusals) {
          const response = await request(server).get('/fast').set(headers);
          expect([response.status, response.body]).toEqual([500, { error: 'formatter failed' }]);
        }
        expect(errors).toHaveLength(refusals.length);
        expect(handlers).toEqual([]);
        expect(watcher.seen).toEqual([]);
      } finally {
        await close(server);
      }
    },
  );
});

@Injectable()
class TimeoutMiddleware implements NestMiddleware {
  use(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    timeoutMiddleware(request, response, next);
  }
}

const LateController = routesController('LateController', '', [
  { method: 'GET', path: 'late', answer: { ran: true } },
  { method: 'GET', path: 'late-guarded', decorators: [ApiKeyAuth()], answer: { ran: true } },
]);

@Module({ controllers: [LateController] })
class LateModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(TimeoutMiddleware).forRoutes(LateController);
    consumer.apply(ApiKeyNestMiddleware, TenantNestMiddleware).forRoutes({ path: 'late', method: RequestMethod.GET });
  }
}

describe.each(ADAPTERS)('late answers in Nest, on %s', (adapter) => {
  let watcher: ReturnType<typeof watchUnhandledRejections>;
  let test: TestApp;
  beforeAll(async () => {
    watcher = watchUnhandledRejections();
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: slowLookup(), cache: false } as ApiKeyModuleOptions), LateModule],
    });
  });
  afterAll(async () => {
    watcher.stop();
    await test.close();
  });
  afterEach(() => {
    test.handlers.calls.length = 0;
  });

  it.each([
    ['ApiKeyNestMiddleware', '/late', SLOW_UNKNOWN],
    ['ApiKeyNestMiddleware', '/late', SLOW_KNOWN],
    ['ApiKeyGuard', '/late-guarded', SLOW_UNKNOWN],
    ['ApiKeyGuard', '/late-guarded', SLOW_KNOWN],
  ])(
    '%s answering %s after a timeout: nothing written, handler not run, no unhandled rejection',
    async (_, path, key) => {
      const server = test.app.getHttpServer();
      const response = await request(server).get(path).set(bearer(key));
      expect([response.status, response.body]).toEqual([503, { timeout: true }]);
      await sleep(150);
      expect(test.handlers.calls).toEqual([]);
      expect(watcher.seen).toEqual([]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// What one request receives can't change what another sees.

@Controller('mutating')
class MutatingController {
  @ApiKeyAuth()
  @Post('tenants')
  @HttpCode(200)
  sortTenants(@Req() request: { apiKey: ApiKeyRecord }) {
    request.apiKey.tenants?.sort((a, b) => String(b.id).localeCompare(String(a.id)));
    return { sorted: true };
  }

  @ApiKeyAuth()
  @Post('scopes')
  @HttpCode(200)
  grantScope(@Req() request: { apiKey: ApiKeyRecord }) {
    request.apiKey.scopes?.push('admin');
    return { pushed: true };
  }

  @ApiKeyAuth()
  @Get('me')
  me(@Req() request: { apiKey: ApiKeyRecord; tenant: { id: unknown } }) {
    return { tenant: request.tenant.id, scopes: request.apiKey.scopes };
  }

  @RequireScopes('admin')
  @Get('admin')
  admin() {
    return { admin: true };
  }
}

describe.each(ADAPTERS)('records handed to one request and mutated, on %s', (adapter) => {
  const MULTI = withChecksum('pk_mutation_5e6f7a');
  let test: TestApp;
  beforeAll(async () => {
    const lookup = new InMemoryLookup({
      [MULTI]: { id: 'key-multi', tenants: [{ id: 'a' }, { id: 'b' }], scopes: ['read'] },
    });
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup })],
      controllers: [MutatingController],
    });
  });
  afterAll(() => test.close());

  it("keeps the next request's default tenant when a handler sorts the tenants in place", async () => {
    const server = test.app.getHttpServer();
    expect((await request(server).get('/mutating/me').set(bearer(MULTI))).body.tenant).toBe('a');
    const mutation = await request(server).post('/mutating/tenants').set(bearer(MULTI));
    // The record is frozen: the handler's in-place sort fails (its own request only).
    expect(mutation.status).toBe(500);
    expect((await request(server).get('/mutating/me').set(bearer(MULTI))).body).toEqual({
      tenant: 'a',
      scopes: ['read'],
    });
  });

  it('grants no scope to later requests when a handler pushes onto scopes', async () => {
    const server = test.app.getHttpServer();
    expect((await request(server).post('/mutating/scopes').set(bearer(MULTI))).status).toBe(500);
    const admin = await request(server).get('/mutating/admin').set(bearer(MULTI));
    expect({ status: admin.status, code: admin.body.error?.code }).toEqual({ status: 403, code: 'INSUFFICIENT_SCOPE' });
  });
});

// ---------------------------------------------------------------------------------------------
// Adopting existing keys: one switch, and a debug line saying why a key failed the format rules.

const legacyCalls: unknown[] = [];

@Controller('legacy')
class LegacyController {
  @ApiKeyAuth()
  @Get()
  me(@Req() request: { apiKey: ApiKeyRecord }) {
    legacyCalls.push(request.apiKey.id);
    return { id: request.apiKey.id };
  }
}

describe.each(ADAPTERS)('keys issued before nest-keyring, on %s', (adapter) => {
  const LEGACY = 'acme-2019-6fK2pQ9xLm';
  const lookup = () => new InMemoryLookup({ [LEGACY]: { id: 'legacy', tenants: [{ id: 1 }] } });

  it('accepts them with legacyKeys: true, every other check still applying', async () => {
    const test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: lookup(), legacyKeys: true })],
      controllers: [LegacyController],
    });
    try {
      const server = test.app.getHttpServer();
      expect((await request(server).get('/legacy').set(bearer(LEGACY))).body).toEqual({ id: 'legacy' });
      const unknown = await request(server).get('/legacy').set(bearer('acme-2019-unknown'));
      expect({ status: unknown.status, code: unknown.body.error?.code }).toEqual({
        status: 401,
        code: 'INVALID_API_KEY',
      });
    } finally {
      await test.close();
    }
  });

  it('refuses them by default, with one debug line saying which rule (never the key), not one per key', async () => {
    const test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: lookup() })],
      controllers: [LegacyController],
    });
    legacyCalls.length = 0;
    try {
      const server = test.app.getHttpServer();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => request(server).get('/legacy').set(bearer(LEGACY))),
      );
      for (const refused of answers) {
        expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
          status: 401,
          code: 'INVALID_API_KEY',
        });
      }
      expect(legacyCalls).toEqual([]);
      const refusalLines = test.logger.lines.filter((line) => line.includes('refused before any lookup'));
      expect(refusalLines).toEqual([
        'debug API key refused before any lookup: its checksum does not match ApiKeyGuard',
      ]);
      expect(test.logger.lines.join('\n')).not.toContain(LEGACY);
    } finally {
      await test.close();
    }
  });
});

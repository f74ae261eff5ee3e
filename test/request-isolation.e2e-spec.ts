import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type ExecutionContext,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyModule,
  CurrentTenant,
  Keyring,
  Public,
  TenantContext,
  TenantInterceptor,
  type ApiKeyModuleOptions,
  type Tenant,
} from '../lib/index.js';
import { apiKeyMiddleware, tenantMiddleware, type KeyringIncomingMessage } from '../lib/express.js';
import { CallbackPool, CallbackPoolMiddleware, interleave, RESUME_ORDERS, warm } from './fixtures/callback-pool.js';
import { CACHE_MODES, InMemoryLookup, twoTenantKeys } from './fixtures/in-memory-lookup.js';
import { otherAuthGuard } from './fixtures/other-auth.guard.js';
import { ADAPTERS, createTestApp, HandlerLog, type TestApp } from './fixtures/test-app.js';

// Two requests resumed from one shared callback queue: the second runs in the first one's async
// context (the memoize / callback-pool pattern of many callback-era libraries).
const { KEY_A, KEY_B, RECORDS, asA, asB } = twoTenantKeys('isolation');

/** What a handler saw of its tenant: from the guard, from the context before and after an await. */
async function observe(tenants: TenantContext, chosen: Tenant['id'] | null) {
  const before = tenants.find()?.id ?? null;
  await sleep(15);
  const after = tenants.find()?.id ?? null;
  return { chosen, before, after };
}

const OtherAuthGuard = otherAuthGuard(RECORDS);

/** A guard of the application that (wrongly) overwrites the tenant after ApiKeyGuard chose it. */
@Injectable()
class TenantOverwritingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest<{ tenant?: Tenant }>().tenant = { id: 'overwritten' };
    return true;
  }
}

@Controller('isolated')
class IsolatedController {
  constructor(
    private readonly tenants: TenantContext,
    private readonly handlers: HandlerLog,
  ) {}

  @ApiKeyAuth()
  @Get('guarded')
  guarded(@CurrentTenant('id') chosen: Tenant['id']) {
    this.handlers.ran('guarded');
    return observe(this.tenants, chosen);
  }

  @Public()
  @Get('public')
  open() {
    this.handlers.ran('public');
    return observe(this.tenants, null);
  }

  @UseGuards(OtherAuthGuard)
  @UseInterceptors(TenantInterceptor)
  @Get('other-auth')
  otherAuth(@CurrentTenant('id') chosen: Tenant['id']) {
    this.handlers.ran('other-auth');
    return observe(this.tenants, chosen);
  }

  @ApiKeyAuth()
  @UseGuards(TenantOverwritingGuard)
  @UseInterceptors(TenantInterceptor)
  @Get('overwritten')
  overwritten(@Req() request: { tenant?: Tenant }) {
    this.handlers.ran('overwritten');
    return observe(this.tenants, request.tenant?.id ?? null);
  }
}

@Module({ controllers: [IsolatedController] })
class PooledModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(CallbackPoolMiddleware).forRoutes(IsolatedController);
  }
}

/**
 * Interleaves a request as A and one as B on `path`: each handler sees its own tenant, from the guard
 * and in the context before and after an await.
 */
async function expectOwnTenants(
  server: Server,
  path: string,
  headersA: Record<string, string> = asA,
  headersB: Record<string, string> = asB,
) {
  const [a, b] = await interleave(server, { path, headers: headersA }, { path, headers: headersB });
  expect([a.status, a.body]).toEqual([200, { chosen: 'tenant-a', before: 'tenant-a', after: 'tenant-a' }]);
  expect([b.status, b.body]).toEqual([200, { chosen: 'tenant-b', before: 'tenant-b', after: 'tenant-b' }]);
}

/**
 * Interleaves the public route and a guarded request as B: the public handler ran once and saw no
 * tenant, B's saw its own.
 */
async function expectPublicWithoutTenant(server: Server, handlers: HandlerLog | undefined) {
  const [open, b] = await interleave(
    server,
    { path: '/isolated/public', headers: {} },
    { path: '/isolated/guarded', headers: asB },
  );
  expect([open.status, open.body]).toEqual([200, { chosen: null, before: null, after: null }]);
  expect([b.status, b.body]).toEqual([200, { chosen: 'tenant-b', before: 'tenant-b', after: 'tenant-b' }]);
  expect(handlers?.calls.filter((call) => call === 'public')).toEqual(['public']);
}

describe.each(ADAPTERS)("requests resumed in another request's async context, on %s", (adapter) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    CallbackPool.binds = false;
    await test?.close();
    test = undefined;
  });

  async function start(options: Partial<ApiKeyModuleOptions> = {}, global = false) {
    test = await createTestApp(adapter, {
      imports: [
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS), ...options, protectAllRoutes: global }),
        PooledModule,
      ],
    });
    return test.app.getHttpServer() as Server;
  }

  describe.each(RESUME_ORDERS)('resumed %s', (order) => {
    it.each(CACHE_MODES)('keeps each guarded handler in its own tenant, %s', async (_, options) => {
      CallbackPool.order = order;
      const server = await start(options);
      // Warm the cache (where there is one) so that both guards answer synchronously.
      await warm(server, '/isolated/guarded', asA, asB);
      await expectOwnTenants(server, '/isolated/guarded');
    });

    it("never shows a guarded request's tenant to a public route resumed beside it (global guard)", async () => {
      CallbackPool.order = order;
      await expectPublicWithoutTenant(await start({}, true), test?.handlers);
    });

    it('shows no tenant to a route no guard runs on, resumed beside a guarded one by a pool that binds', async () => {
      CallbackPool.order = order;
      CallbackPool.binds = true;
      const server = await start();
      await warm(server, '/isolated/guarded', asB);
      await expectPublicWithoutTenant(server, test?.handlers);
    });

    it('keeps TenantInterceptor routes in their own tenant', async () => {
      CallbackPool.order = order;
      const server = await start();
      await expectOwnTenants(server, '/isolated/other-auth', { 'x-other-auth': KEY_A }, { 'x-other-auth': KEY_B });
    });
  });

  it('never replaces the tenant ApiKeyGuard chose, whatever a later guard writes on the request', async () => {
    const server = await start();
    const response = await request(server).get('/isolated/overwritten').set(asA);
    expect(response.status).toBe(200);
    // The interceptor and the context keep the chosen tenant; only the app's own field changed.
    expect(response.body).toEqual({ chosen: 'tenant-a', before: 'tenant-a', after: 'tenant-a' });
    expect(test?.handlers.calls).toEqual(['overwritten']);
  });
});

describe("a Fastify hook that resumes requests in another request's async context", () => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  it.each(RESUME_ORDERS)('keeps each guarded handler in its own tenant, resumed %s', async (order) => {
    CallbackPool.order = order;
    test = await createTestApp(
      'fastify',
      {
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS), cache: false })],
        controllers: [IsolatedController],
      },
      {
        // preHandler runs after the middleware that opened each request's scope, before the guard.
        beforeInit: (app) =>
          app
            .getHttpAdapter()
            .getInstance()
            .addHook('preHandler', (_request: unknown, _reply: unknown, done: () => void) => CallbackPool.park(done)),
      },
    );
    const server = test.app.getHttpServer() as Server;
    await expectOwnTenants(server, '/isolated/guarded');
  });
});

describe("plain Express: requests resumed in another request's async context", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it.each(RESUME_ORDERS)('keeps each handler in its own tenant, resumed %s', async (order) => {
    CallbackPool.order = order;
    const keyring = new Keyring({ lookup: new InMemoryLookup(RECORDS), cache: false });
    const tenants = new TenantContext();
    const app = express();
    app.get(
      '/isolated',
      (_request, _response, next) => CallbackPool.park(next),
      apiKeyMiddleware(keyring),
      // Resumed again between the two middleware: tenantMiddleware must still bind its own request.
      (_request, _response, next) => CallbackPool.park(next),
      tenantMiddleware(keyring),
      async (req, res) => res.json(await observe(tenants, (req as KeyringIncomingMessage).tenant?.id ?? null)),
    );
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    await expectOwnTenants(server, '/isolated');
  });
});

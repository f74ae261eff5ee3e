import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UseGuards,
  UseInterceptors,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyContext,
  ApiKeyModule,
  ApiKeyNestMiddleware,
  Keyring,
  Public,
  TenantContext,
  TenantInterceptor,
  type ApiKeyModuleOptions,
  type ApiKeyRecord,
} from '../lib/index.js';
import { ApiKeyContextError, apiKeyMiddleware, tenantMiddleware } from '../lib/express.js';
import { CallbackPool, CallbackPoolMiddleware, interleave, RESUME_ORDERS, warm } from './fixtures/callback-pool.js';
import { CACHE_MODES, InMemoryLookup, twoTenantKeys } from './fixtures/in-memory-lookup.js';
import { otherAuthGuard } from './fixtures/other-auth.guard.js';
import { ADAPTERS, createTestApp, HandlerLog, type TestApp } from './fixtures/test-app.js';

const { KEY_B, RECORDS, asA, asB } = twoTenantKeys('context', { scopes: ['read'] });

/** Deep in the call stack: reads the key and tenant from the contexts, across awaits. */
@Injectable()
class AuditRepository {
  constructor(
    private readonly keys: ApiKeyContext,
    private readonly tenants: TenantContext,
  ) {}

  async whoAsks() {
    const before = this.keys.find()?.id ?? null;
    await sleep(15);
    const after = this.keys.find()?.id ?? null;
    const later = await new Promise((resolve) => setImmediate(() => resolve(this.keys.find()?.id ?? null)));
    return { before, after, later, tenant: this.tenants.find()?.id ?? null };
  }
}

@Injectable()
class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  async whoAsks() {
    await Promise.resolve();
    return this.repository.whoAsks();
  }
}

const OtherAuthGuard = otherAuthGuard(RECORDS);

@Controller('context')
class ContextController {
  constructor(
    private readonly audit: AuditService,
    private readonly keys: ApiKeyContext,
    private readonly handlers: HandlerLog,
  ) {}

  @ApiKeyAuth()
  @Get('guarded')
  async guarded(@Req() request: { apiKey?: ApiKeyRecord }) {
    this.handlers.ran('guarded');
    // The record the request was admitted with: the same frozen snapshot as request.apiKey.
    const same = this.keys.key === request.apiKey && Object.isFrozen(this.keys.key);
    return { ...(await this.audit.whoAsks()), same };
  }

  @Public()
  @Get('public')
  async open() {
    this.handlers.ran('public');
    let error: string | null = null;
    try {
      void this.keys.key;
    } catch (thrown) {
      error = thrown instanceof ApiKeyContextError ? thrown.name : 'other';
    }
    return { ...(await this.audit.whoAsks()), error };
  }

  @UseGuards(OtherAuthGuard)
  @UseInterceptors(TenantInterceptor)
  @Get('other-auth')
  async otherAuth() {
    this.handlers.ran('other-auth');
    return this.audit.whoAsks();
  }
}

/** The same reads, on routes behind ApiKeyNestMiddleware (MiddlewareConsumer) instead of the guard. */
@Controller('middleware')
class MiddlewareController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  read() {
    return this.audit.whoAsks();
  }
}

@Module({ providers: [AuditService, AuditRepository], exports: [AuditService] })
class AuditModule {}

@Module({ imports: [AuditModule], controllers: [ContextController] })
class PooledModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(CallbackPoolMiddleware).forRoutes(ContextController);
  }
}

@Module({ imports: [AuditModule], controllers: [MiddlewareController] })
class NestMiddlewareModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(ApiKeyNestMiddleware).forRoutes(MiddlewareController);
  }
}

const seenAs = (key: string, tenant: string | null) => ({ before: key, after: key, later: key, tenant });

describe.each(ADAPTERS)('ApiKeyContext in a Nest app on %s', (adapter) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  async function start(options: Partial<ApiKeyModuleOptions> & { protectAllRoutes?: boolean } = {}) {
    test = await createTestApp(adapter, {
      imports: [
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS), ...options }),
        PooledModule,
        NestMiddlewareModule,
      ],
    });
    return test.app.getHttpServer() as Server;
  }

  it('gives a service deep in the call stack the key the guard admitted, across awaits', async () => {
    const server = await start();
    const response = await request(server).get('/context/guarded').set(asA);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ...seenAs('key-a', 'tenant-a'), same: true });
    expect(test?.handlers.calls).toEqual(['guarded']);
  });

  it('gives the key with tenancy off too (no tenant)', async () => {
    const server = await start({ tenancy: false });
    const response = await request(server).get('/context/guarded').set(asB);
    expect([response.status, response.body]).toEqual([200, { ...seenAs('key-b', null), same: true }]);
  });

  it('answers no key on a @Public() route, even right after an authenticated request', async () => {
    const server = await start({ protectAllRoutes: true });
    expect((await request(server).get('/context/guarded').set(asA)).status).toBe(200);
    const response = await request(server).get('/context/public').set(asA);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      before: null,
      after: null,
      later: null,
      tenant: null,
      error: 'ApiKeyContextError',
    });
  });

  it('refuses without running the handler, and a later request still reads its own key', async () => {
    const server = await start();
    const refused = await request(server).get('/context/guarded').set({ Authorization: 'Bearer nope' });
    expect([refused.status, refused.body.error?.code]).toEqual([401, 'INVALID_API_KEY']);
    expect(test?.handlers.calls).toEqual([]);
    const response = await request(server).get('/context/guarded').set(asB);
    expect(response.body).toEqual({ ...seenAs('key-b', 'tenant-b'), same: true });
  });

  it.each([{ tenancy: true }, { tenancy: false }])(
    'gives the record another mechanism put on request.apiKey through TenantInterceptor (%p)',
    async (options) => {
      const server = await start(options);
      const response = await request(server).get('/context/other-auth').set({ 'x-other-auth': KEY_B });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(seenAs('key-b', options.tenancy ? 'tenant-b' : null));
    },
  );

  it('gives the key on routes behind ApiKeyNestMiddleware', async () => {
    const server = await start();
    const response = await request(server).get('/middleware').set(asA);
    expect([response.status, response.body]).toEqual([200, seenAs('key-a', 'tenant-a')]);
    const refused = await request(server).get('/middleware');
    expect([refused.status, refused.body.error?.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
  });

  describe.each(RESUME_ORDERS)("two requests resumed in one request's async context, %s", (order) => {
    it.each(CACHE_MODES)('each handler reads its own key, %s', async (_, options) => {
      CallbackPool.order = order;
      const server = await start(options);
      await warm(server, '/context/guarded', asA, asB);
      const [a, b] = await interleave(
        server,
        { path: '/context/guarded', headers: asA },
        { path: '/context/guarded', headers: asB },
      );
      expect([a.status, a.body]).toEqual([200, { ...seenAs('key-a', 'tenant-a'), same: true }]);
      expect([b.status, b.body]).toEqual([200, { ...seenAs('key-b', 'tenant-b'), same: true }]);
    });

    it("never shows a guarded request's key to a public route resumed beside it", async () => {
      CallbackPool.order = order;
      const server = await start({ protectAllRoutes: true });
      const [open, b] = await interleave(
        server,
        { path: '/context/public', headers: {} },
        { path: '/context/public', headers: asB },
      );
      expect(open.body).toEqual({
        before: null,
        after: null,
        later: null,
        tenant: null,
        error: 'ApiKeyContextError',
      });
      expect(b.status).toBe(200);
      const [guarded, publicAfter] = await Promise.all([
        request(server).get('/context/guarded').set(asB),
        request(server).get('/context/public'),
      ]);
      expect(guarded.body).toEqual({ ...seenAs('key-b', 'tenant-b'), same: true });
      expect(publicAfter.body.before).toBeNull();
    });
  });
});

describe('ApiKeyContext in a plain Express app', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const keys = new ApiKeyContext();
  const tenants = new TenantContext();
  async function whoAsks() {
    const before = keys.find()?.id ?? null;
    await sleep(15);
    const after = keys.find()?.id ?? null;
    const later = await new Promise((resolve) => setImmediate(() => resolve(keys.find()?.id ?? null)));
    return { before, after, later, tenant: tenants.find()?.id ?? null };
  }

  async function listen(app: express.Express): Promise<Server> {
    return new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
  }

  it.each([
    ['apiKeyMiddleware alone', false],
    ['apiKeyMiddleware then tenantMiddleware', true],
  ])('gives the handler its key with %s', async (_, withTenantMiddleware) => {
    const keyring = new Keyring({ lookup: new InMemoryLookup(RECORDS) });
    const app = express();
    const chain = withTenantMiddleware
      ? [apiKeyMiddleware(keyring), tenantMiddleware(keyring)]
      : [apiKeyMiddleware(keyring)];
    app.get('/who', ...chain, async (_request, response) => {
      response.json(await whoAsks());
    });
    app.get('/open', async (_request, response) => {
      response.json(await whoAsks());
    });
    server = await listen(app);
    const response = await request(server).get('/who').set(asA);
    expect([response.status, response.body]).toEqual([200, seenAs('key-a', 'tenant-a')]);
    const open = await request(server).get('/open').set(asA);
    expect(open.body).toEqual({ before: null, after: null, later: null, tenant: null });
    expect(keys.find()).toBeUndefined();
  });

  it.each(RESUME_ORDERS)(
    'keeps each handler on its own key when requests are resumed in one context, %s',
    async (order) => {
      CallbackPool.order = order;
      const keyring = new Keyring({ lookup: new InMemoryLookup(RECORDS), cache: false });
      const app = express();
      app.get(
        '/who',
        (_request, _response, next) => CallbackPool.park(next),
        apiKeyMiddleware(keyring),
        (_request, _response, next) => CallbackPool.park(next),
        tenantMiddleware(keyring),
        async (_request, response) => {
          response.json(await whoAsks());
        },
      );
      server = await listen(app);
      const [a, b] = await interleave(server, { path: '/who', headers: asA }, { path: '/who', headers: asB });
      expect([a.status, a.body]).toEqual([200, seenAs('key-a', 'tenant-a')]);
      expect([b.status, b.body]).toEqual([200, seenAs('key-b', 'tenant-b')]);
    },
  );
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Catch,
  Controller,
  Get,
  Injectable,
  Query,
  Req,
  Sse,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { interval, map, of, delay as delayEach, take, type Observable } from 'rxjs';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyModule,
  CurrentTenant,
  Public,
  TenantContext,
  TenantInterceptor,
  type ApiKeyModuleOptions,
  type ApiKeyRecord,
  type Tenant,
} from '../lib/index.js';
import { InMemoryLookup, withChecksum } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, sharedApp, HandlerLog, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { routesController } from './fixtures/routes-controller.js';

const TENANT_KEYS = {
  multi: withChecksum('pk_multi_4a5b6c7d'),
  other: withChecksum('pk_other_8e9f0a1b'),
  none: withChecksum('pk_notenant_2c3d4e5f'),
  resolved: withChecksum('pk_resolved_6a7b8c9d'),
  resolveThrows: withChecksum('pk_resolvethrows_0e1f'),
  resolveJunk: withChecksum('pk_resolvejunk_2a3b'),
  crowd: withChecksum('pk_crowd_4c5d6e7f'),
};

const CROWD_SIZE = 200;

function tenantRecords(): Record<string, ApiKeyRecord> {
  return {
    [TENANT_KEYS.multi]: {
      id: 'key-multi',
      tenants: [{ id: 1, name: 'Acme' }, { id: 'org-b', name: 'Org B' }, { id: 3 }],
    },
    [TENANT_KEYS.other]: { id: 'key-other', tenants: [{ id: 2, name: 'Other' }] },
    [TENANT_KEYS.none]: { id: 'key-none', tenants: [] },
    // No `tenants` field: resolveTenants supplies them.
    [TENANT_KEYS.resolved]: { id: 'key-resolved' },
    [TENANT_KEYS.resolveThrows]: { id: 'key-resolve-throws' },
    [TENANT_KEYS.resolveJunk]: { id: 'key-resolve-junk' },
    [TENANT_KEYS.crowd]: { id: 'key-crowd', tenants: Array.from({ length: CROWD_SIZE }, (_, i) => ({ id: i })) },
  };
}

async function resolveTenants(record: ApiKeyRecord): Promise<Tenant[]> {
  if (record.id === 'key-resolve-throws') throw new Error('tenant service down');
  if (record.id === 'key-resolve-junk') return [{ name: 'no id' }] as never;
  return [{ id: 42, name: 'Resolved' }];
}

/** A service far below the handler: reads the tenant without the request. */
@Injectable()
class TenantEchoService {
  constructor(private readonly tenants: TenantContext) {}
  async tenantAfter(ms: number): Promise<Tenant['id']> {
    await sleep(ms);
    return this.tenants.tenantId;
  }
}

/** A guard that runs after ApiKeyGuard, like a rate limiter keyed by tenant. */
@Injectable()
class TenantAwareGuard implements CanActivate {
  static seen: unknown[] = [];
  canActivate(context: ExecutionContext): boolean {
    TenantAwareGuard.seen.push(context.switchToHttp().getRequest().tenant?.id);
    return true;
  }
}

/** An exception filter that reports the tenant it sees. */
@Catch()
class TenantReportingFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(_: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    const tenant = http.getRequest().tenant;
    this.adapterHost.httpAdapter.reply(http.getResponse(), { filterSawTenant: tenant?.id ?? null }, 500);
  }
}

@ApiKeyAuth()
@Controller('t')
class TenantController {
  constructor(
    private readonly handlers: HandlerLog,
    private readonly tenants: TenantContext,
    private readonly echo: TenantEchoService,
  ) {}

  @Get('me')
  me(@CurrentTenant() tenant: Tenant, @CurrentTenant('id') tenantId: Tenant['id']) {
    this.handlers.ran('me');
    return { tenant, tenantId, fromContext: this.tenants.tenantId };
  }

  @Get('slow')
  async slow(@CurrentTenant('id') tenantId: Tenant['id'], @Query('ms') ms: string) {
    const fromService = await this.echo.tenantAfter(Number(ms));
    return { tenantId, fromService, afterAwait: this.tenants.tenantId };
  }

  @Get('observable')
  observable(): Observable<unknown> {
    this.handlers.ran('observable');
    return of(null).pipe(
      delayEach(5),
      map(() => ({ fromContext: this.tenants.tenantId })),
    );
  }

  @Sse('stream')
  stream(): Observable<{ data: unknown }> {
    this.handlers.ran('stream');
    return interval(3).pipe(
      take(3),
      map((i) => ({ data: { i, tenant: this.tenants.tenantId } })),
    );
  }

  @UseGuards(TenantAwareGuard)
  @Get('later-guard')
  laterGuard() {
    this.handlers.ran('later-guard');
    return { ok: true };
  }

  @UseFilters(TenantReportingFilter)
  @Get('throws')
  throws() {
    this.handlers.ran('throws');
    throw new Error('boom');
  }
}

const InterceptorOnlyController = routesController(
  'InterceptorOnlyController',
  'interceptor-only',
  [{ method: 'GET', path: '', ran: 'interceptor-only', answer: { ok: true } }],
  [UseInterceptors(TenantInterceptor)],
);

/** Stands for another authentication mechanism that puts a record on the request. */
@Injectable()
class OtherAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest().apiKey = tenantRecords()[TENANT_KEYS.multi];
    return true;
  }
}

@UseGuards(OtherAuthGuard)
@UseInterceptors(TenantInterceptor)
@Controller('other-auth')
class OtherAuthController {
  constructor(
    private readonly handlers: HandlerLog,
    private readonly tenants: TenantContext,
  ) {}
  @Get()
  get(@CurrentTenant('id') tenantId: Tenant['id']) {
    this.handlers.ran('other-auth');
    return { tenantId, fromContext: this.tenants.tenantId };
  }
}

@Controller('plain')
class PlainController {
  constructor(
    private readonly handlers: HandlerLog,
    private readonly tenants: TenantContext,
  ) {}
  @Get()
  get(@Req() request: { tenant?: Tenant }) {
    this.handlers.ran('plain');
    return { tenant: request.tenant ?? null, contextActive: this.tenants.active };
  }
  @Get('current')
  current(@CurrentTenant() tenant: Tenant) {
    this.handlers.ran('current');
    return { tenant };
  }
  @Public()
  @Get('public')
  public() {
    this.handlers.ran('public');
    return { contextActive: this.tenants.active };
  }
}

interface Harness {
  test: TestApp;
  lookup: InMemoryLookup;
  get(path: string, key?: string, tenant?: string | string[]): request.Test;
}

async function harness(
  adapter: AdapterName,
  options: Partial<ApiKeyModuleOptions> & { protectAllRoutes?: boolean } = {},
): Promise<Harness> {
  const lookup = new InMemoryLookup(tenantRecords());
  const test = await createTestApp(adapter, {
    imports: [ApiKeyModule.forRoot({ lookup, resolveTenants, lookupTimeoutMs: 200, ...options })],
    controllers: [TenantController, InterceptorOnlyController, OtherAuthController, PlainController],
    providers: [TenantEchoService, TenantAwareGuard],
  });
  const server = test.app.getHttpServer();
  return {
    test,
    lookup,
    get: (path, key, tenant) => {
      const call = request(server).get(path);
      if (key !== undefined) call.set('X-API-KEY', key);
      // An array sends the header twice; Node joins the values as "a, b".
      if (tenant !== undefined) call.set({ 'X-TENANT-ID': tenant });
      return call;
    },
  };
}

function expectRefused(h: Harness, response: request.Response, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code, success: response.body?.success }).toEqual({
    status,
    code,
    success: false,
  });
  expect(h.test.handlers.calls).toEqual([]);
}

describe.each(ADAPTERS)('tenancy on %s', (adapter) => {
  describe('with @ApiKeyAuth()', () => {
    const h = sharedApp(() => harness(adapter));
    beforeEach(() => {
      TenantAwareGuard.seen.length = 0;
    });

    it('uses the first linked tenant when X-TENANT-ID is omitted', async () => {
      const response = await h.get('/t/me', TENANT_KEYS.multi);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ tenant: { id: 1, name: 'Acme' }, tenantId: 1, fromContext: 1 });
      expect(h.test.handlers.calls).toEqual(['me']);
    });

    it.each([
      ['1', 1],
      ['org-b', 'org-b'],
      ['3', 3],
    ])('picks the tenant X-TENANT-ID: %s names', async (header, id) => {
      const response = await h.get('/t/me', TENANT_KEYS.multi, header);
      expect(response.status).toBe(200);
      expect(response.body.tenantId).toBe(id);
      expect(response.body.fromContext).toBe(id);
      expect(h.test.handlers.calls).toEqual(['me']);
    });

    it('reads the tenant header whatever the case of its name', async () => {
      const response = await h.get('/t/me', TENANT_KEYS.multi).set('x-TeNaNt-Id', '3');
      expect(response.status).toBe(200);
      expect(response.body.tenantId).toBe(3);
    });

    it.each<[string, string | string[]]>([
      ['a tenant of another key', '2'],
      ['an unknown tenant', '999'],
      ['an empty header', ''],
      ['a comma list', '1,3'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['a wildcard', '*'],
      ['a path', '../x'],
      ['an almost-right id', '11'],
      ['a case change', 'ORG-B'],
      ['latin-1 bytes', 'org-\u00e9'],
      ['an oversized header', '1'.repeat(129)],
    ])('answers 403 TENANT_NOT_FOUND for %s, never falling back to the first tenant', async (_, header) => {
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.multi, header), 403, 'TENANT_NOT_FOUND');
    });

    it('refuses a tenant header sent on two lines as malformed (401), before any lookup or fallback', async () => {
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.multi, ['1', '3']), 401, 'INVALID_API_KEY');
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.multi, ['1', '1']), 401, 'INVALID_API_KEY');
    });

    it('fails @CurrentTenant() where no tenant was chosen, never handing the handler undefined', async () => {
      const response = await h.get('/plain/current');
      expect(response.status).toBe(500);
      expect(h.test.handlers.calls).toEqual([]);
      expect(h.test.logger.lines.join('\n')).toMatch(/@CurrentTenant\(\) on a route where no tenant was chosen/);
    });

    it('answers 403 API_KEY_NO_TENANT for a key linked to no tenant, with or without a header', async () => {
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.none), 403, 'API_KEY_NO_TENANT');
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.none, '1'), 403, 'API_KEY_NO_TENANT');
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.none, '*'), 403, 'API_KEY_NO_TENANT');
    });

    it('authenticates before choosing a tenant', async () => {
      expectRefused(h, await h.get('/t/me', undefined, '1'), 401, 'AUTHENTICATION_REQUIRED');
      expectRefused(h, await h.get('/t/me', 'pk_unknown_key', '1'), 401, 'INVALID_API_KEY');
    });

    it('loads tenants with resolveTenants when the record has none', async () => {
      const response = await h.get('/t/me', TENANT_KEYS.resolved);
      expect(response.status).toBe(200);
      expect(response.body.tenant).toEqual({ id: 42, name: 'Resolved' });
      expect(h.test.handlers.calls).toEqual(['me']);
      h.test.handlers.calls.length = 0;
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.resolved, '1'), 403, 'TENANT_NOT_FOUND');
    });

    it('answers 503 when resolveTenants fails or returns something that is not a tenant list', async () => {
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.resolveThrows), 503, 'KEY_STORE_UNAVAILABLE');
      expectRefused(h, await h.get('/t/me', TENANT_KEYS.resolveJunk), 503, 'KEY_STORE_UNAVAILABLE');
    });

    it('chooses the tenant before later guards run, and refuses before them', async () => {
      const granted = await h.get('/t/later-guard', TENANT_KEYS.multi, 'org-b');
      expect(granted.status).toBe(200);
      expect(TenantAwareGuard.seen).toEqual(['org-b']);
      h.test.handlers.calls.length = 0;
      expectRefused(h, await h.get('/t/later-guard', TENANT_KEYS.multi, '999'), 403, 'TENANT_NOT_FOUND');
      expect(TenantAwareGuard.seen).toEqual(['org-b']);
    });

    it('lets exception filters see the tenant', async () => {
      const response = await h.get('/t/throws', TENANT_KEYS.multi, '3');
      expect(response.status).toBe(500);
      expect(response.body).toEqual({ filterSawTenant: 3 });
      expect(h.test.handlers.calls).toEqual(['throws']);
    });

    it('keeps the tenant in a handler that returns an Observable', async () => {
      const response = await h.get('/t/observable', TENANT_KEYS.multi, 'org-b');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ fromContext: 'org-b' });
      expect(h.test.handlers.calls).toEqual(['observable']);
    });

    it('keeps the tenant in every event of a stream', async () => {
      const response = await h.get('/t/stream', TENANT_KEYS.multi, '3').buffer(true);
      expect(response.status).toBe(200);
      const events = response.text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => JSON.parse(line.slice(6)));
      expect(events).toEqual([0, 1, 2].map((i) => ({ i, tenant: 3 })));
      expect(h.test.handlers.calls).toEqual(['stream']);
    });

    it('answers 401 from TenantInterceptor alone when no key was authenticated', async () => {
      expectRefused(h, await h.get('/interceptor-only', TENANT_KEYS.multi), 401, 'AUTHENTICATION_REQUIRED');
    });

    it('chooses the tenant in TenantInterceptor when another mechanism authenticated the request', async () => {
      const response = await h.get('/other-auth', undefined, 'org-b');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ tenantId: 'org-b', fromContext: 'org-b' });
      h.test.handlers.calls.length = 0;
      expectRefused(h, await h.get('/other-auth', undefined, '2'), 403, 'TENANT_NOT_FOUND');
    });

    it('leaves routes without @ApiKeyAuth() alone', async () => {
      const response = await h.get('/plain');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ tenant: null, contextActive: false });
    });
  });

  describe('isolation under concurrency', () => {
    let h: Harness;
    let baseUrl: string;
    beforeAll(async () => {
      h = await harness(adapter);
      await h.test.app.listen(0, '127.0.0.1');
      baseUrl = await h.test.app.getUrl();
    });
    afterAll(() => h.test.close());

    it(`answers ${CROWD_SIZE} requests in flight at once, each with its own tenant`, async () => {
      const ids = Array.from({ length: CROWD_SIZE }, (_, i) => i);
      const responses = await Promise.all(
        ids.map((id) =>
          request(baseUrl)
            .get(`/t/slow?ms=${Math.floor(Math.random() * 40)}`)
            .set('X-API-KEY', TENANT_KEYS.crowd)
            .set('X-TENANT-ID', String(id)),
        ),
      );
      const answers = responses.map((response) => ({ status: response.status, ...response.body }));
      expect(answers).toEqual(ids.map((id) => ({ status: 200, tenantId: id, fromService: id, afterAwait: id })));
    });
  });

  describe('the connexease format', () => {
    it('answers tenant errors with the same codes', async () => {
      const h = await harness(adapter, { errorFormat: 'connexease' });
      try {
        expectRefused(h, await h.get('/t/me', TENANT_KEYS.multi, '999'), 403, 'TENANT_NOT_FOUND');
        expectRefused(h, await h.get('/t/me', TENANT_KEYS.none), 403, 'API_KEY_NO_TENANT');
      } finally {
        await h.test.close();
      }
    });
  });

  describe('global mode', () => {
    it('chooses a tenant and runs every route in its context; @Public() routes get none', async () => {
      const h = await harness(adapter, { protectAllRoutes: true });
      try {
        const response = await h.get('/plain', TENANT_KEYS.multi, 'org-b');
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ tenant: { id: 'org-b', name: 'Org B' }, contextActive: true });
        h.test.handlers.calls.length = 0;
        expectRefused(h, await h.get('/plain', TENANT_KEYS.multi, '2'), 403, 'TENANT_NOT_FOUND');
        const open = await h.get('/plain/public');
        expect(open.status).toBe(200);
        expect(open.body).toEqual({ contextActive: false });
      } finally {
        await h.test.close();
      }
    });
  });

  describe('tenancy: false', () => {
    it('authenticates keys without tenants and sets no tenant', async () => {
      const h = await harness(adapter, { tenancy: false, protectAllRoutes: true });
      try {
        const response = await h.get('/plain', TENANT_KEYS.none, '999');
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ tenant: null, contextActive: false });
        expect(h.test.handlers.calls).toEqual(['plain']);
      } finally {
        await h.test.close();
      }
    });
  });

  it.each<[string, { globalPrefix: string; excludeFromPrefix?: string[] }, string, string, string | number]>([
    ['under a global prefix', { globalPrefix: 'api/v1' }, '/api/v1/t/me', 'org-b', 'org-b'],
    [
      'on routes excluded from the global prefix',
      { globalPrefix: 'api', excludeFromPrefix: ['t/me'] },
      '/t/me',
      '3',
      3,
    ],
  ])('keeps the tenant context %s', async (_, prefix, path, tenantHeader, tenantId) => {
    const lookup = new InMemoryLookup(tenantRecords());
    const test = await createTestApp(
      adapter,
      {
        imports: [ApiKeyModule.forRoot({ lookup })],
        controllers: [TenantController],
        providers: [TenantEchoService, TenantAwareGuard],
      },
      prefix,
    );
    try {
      const response = await request(test.app.getHttpServer())
        .get(path)
        .set({ 'X-API-KEY': TENANT_KEYS.multi, 'X-TENANT-ID': tenantHeader });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ tenantId, fromContext: tenantId });
      expect(test.handlers.calls).toEqual(['me']);
    } finally {
      await test.close();
    }
  });

  it('reads a custom tenant header', async () => {
    const h = await harness(adapter, { tenantHeader: 'X-Org' });
    try {
      const response = await h.get('/t/me', TENANT_KEYS.multi).set('X-Org', '3');
      expect(response.status).toBe(200);
      expect(response.body.tenantId).toBe(3);
      const ignored = await h.get('/t/me', TENANT_KEYS.multi, '999');
      expect(ignored.body.tenantId).toBe(1);
    } finally {
      await h.test.close();
    }
  });
});

describe('TenantContext outside a request', () => {
  it('says so instead of returning a stale tenant', () => {
    expect(() => new TenantContext().tenant).toThrow(/no tenant in this context/);
  });
});

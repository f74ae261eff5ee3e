import { describe, expect, it } from '@jest/globals';
import { Global, Injectable, Module, UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  ApiKeyGuard,
  ApiKeyModule,
  Public,
  type ApiKeyLookup,
  type ApiKeyModuleOptions,
  type ApiKeyOptionsFactory,
  type ApiKeyRecord,
} from '../lib/index.js';
import { demoRecords, InMemoryLookup, KEYS } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, HandlerLog, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { routesController } from './fixtures/routes-controller.js';

/** A provider a lookup class depends on, like a repository. */
@Injectable()
class KeyRepository {
  readonly reads: string[] = [];
  private readonly records = new Map(Object.entries(demoRecords()));
  byKey(key: string): ApiKeyRecord | null {
    this.reads.push(key);
    return this.records.get(key) ?? null;
  }
}

@Module({ providers: [KeyRepository], exports: [KeyRepository] })
class RepositoryModule {}

@Global()
@Module({ providers: [KeyRepository], exports: [KeyRepository] })
class GlobalRepositoryModule {}

/** A lookup class: Nest creates it and injects the repository. */
@Injectable()
class RepositoryLookup implements ApiKeyLookup {
  constructor(private readonly repository: KeyRepository) {}
  async findKey(key: string) {
    return this.repository.byKey(key);
  }
}

@Injectable()
class KeyringOptionsService implements ApiKeyOptionsFactory {
  constructor(private readonly repository: KeyRepository) {}
  createApiKeyOptions(): ApiKeyModuleOptions {
    return { lookup: { findKey: async (key) => this.repository.byKey(key) }, errorFormat: 'connexease' };
  }
}

@Module({ imports: [RepositoryModule], providers: [KeyringOptionsService], exports: [KeyringOptionsService] })
class KeyringOptionsModule {}

const GuardedController = routesController('GuardedController', '', [
  { method: 'GET', path: 'guarded', decorators: [UseGuards(ApiKeyGuard)], answer: 'id' },
  { method: 'GET', path: 'unguarded', answer: { open: true } },
  { method: 'GET', path: 'public', decorators: [Public()], answer: { open: true } },
]);

const HealthController = routesController(
  'HealthController',
  'health',
  [{ method: 'GET', path: '', ran: 'health', answer: { ok: true } }],
  [Public()],
);

const FeatureController = routesController(
  'FeatureController',
  'feature',
  [{ method: 'GET', path: '', ran: 'feature', answer: 'id' }],
  [UseGuards(ApiKeyGuard)],
);

async function expectGuarded(test: TestApp, path = '/guarded', code = 'AUTHENTICATION_REQUIRED'): Promise<void> {
  const server = test.app.getHttpServer();
  const refused = await request(server).get(path);
  expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 401, code });
  expect(test.handlers.calls).toEqual([]);
  const granted = await request(server).get(path).set('Authorization', `Bearer ${KEYS.production}`);
  expect(granted.status).toBe(200);
  expect(granted.body).toEqual(path === '/unguarded' ? { open: true } : { id: 'key-prod' });
  expect(test.handlers.calls).toEqual([path.slice(1)]);
}

async function withApp(
  adapter: AdapterName,
  imports: unknown[],
  run: (test: TestApp) => Promise<void>,
  controllers: unknown[] = [GuardedController],
) {
  const test = await createTestApp(adapter, { imports: imports as never[], controllers: controllers as never[] });
  try {
    await run(test);
  } finally {
    await test.close();
  }
}

describe.each(ADAPTERS)('ApiKeyModule on %s', (adapter) => {
  describe('ways to plug a lookup', () => {
    it('forRoot with a lookup object', async () => {
      const lookup = new InMemoryLookup();
      await withApp(adapter, [ApiKeyModule.forRoot({ lookup })], async (test) => {
        await expectGuarded(test);
        expect(lookup.calls).toEqual([KEYS.production]);
      });
    });

    it('forRoot with a lookup class that injects a provider of an imported module', async () => {
      await withApp(
        adapter,
        [ApiKeyModule.forRoot({ lookup: RepositoryLookup, imports: [RepositoryModule] })],
        async (test) => {
          await expectGuarded(test);
        },
      );
    });

    it('forRoot with a lookup class that injects a provider of a global module', async () => {
      await withApp(
        adapter,
        [GlobalRepositoryModule, ApiKeyModule.forRoot({ lookup: RepositoryLookup })],
        async (test) => {
          await expectGuarded(test);
          expect(test.app.get(KeyRepository).reads).toEqual([KEYS.production]);
        },
      );
    });

    it('forRootAsync with a factory', async () => {
      const module = ApiKeyModule.forRootAsync({
        imports: [RepositoryModule],
        inject: [KeyRepository],
        useFactory: async (repository: KeyRepository) => ({
          lookup: { findKey: async (key: string) => repository.byKey(key) },
        }),
      });
      await withApp(adapter, [module], (test) => expectGuarded(test));
    });

    it('forRootAsync with a factory that returns a lookup class', async () => {
      const module = ApiKeyModule.forRootAsync({
        imports: [RepositoryModule],
        useFactory: () => ({ lookup: RepositoryLookup }),
      });
      await withApp(adapter, [module], (test) => expectGuarded(test));
    });

    it('forRootAsync with useClass', async () => {
      const module = ApiKeyModule.forRootAsync({ imports: [RepositoryModule], useClass: KeyringOptionsService });
      // KeyringOptionsService picks the connexease format.
      await withApp(adapter, [module], (test) => expectGuarded(test, '/guarded', 'AUTH_002'));
    });

    it('forRootAsync with useExisting', async () => {
      const module = ApiKeyModule.forRootAsync({ imports: [KeyringOptionsModule], useExisting: KeyringOptionsService });
      await withApp(adapter, [module], (test) => expectGuarded(test, '/guarded', 'AUTH_002'));
    });
  });

  describe('global mode', () => {
    const imports = [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), protectAllRoutes: true })];

    it('guards every route', async () => {
      await withApp(adapter, imports, (test) => expectGuarded(test, '/unguarded'));
    });

    it('lets @Public() routes and controllers through', async () => {
      await withApp(
        adapter,
        imports,
        async (test) => {
          const server = test.app.getHttpServer();
          expect((await request(server).get('/public')).status).toBe(200);
          expect((await request(server).get('/health')).status).toBe(200);
          expect(test.handlers.calls).toEqual(['public', 'health']);
        },
        [GuardedController, HealthController],
      );
    });

    it('looks a key up once on a route that also has @UseGuards(ApiKeyGuard)', async () => {
      const lookup = new InMemoryLookup();
      await withApp(adapter, [ApiKeyModule.forRoot({ lookup, protectAllRoutes: true })], async (test) => {
        await expectGuarded(test);
        expect(lookup.calls).toEqual([KEYS.production]);
      });
    });

    it('protects every route with protectAllRoutes: true', async () => {
      await withApp(adapter, [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), protectAllRoutes: true })], (test) =>
        expectGuarded(test, '/unguarded'),
      );
    });

    it('works from forRootAsync', async () => {
      const module = ApiKeyModule.forRootAsync({
        useFactory: () => ({ lookup: new InMemoryLookup() }),
        protectAllRoutes: true,
      });
      await withApp(adapter, [module], (test) => expectGuarded(test, '/unguarded'));
    });

    it('leaves unguarded routes open without it', async () => {
      await withApp(adapter, [ApiKeyModule.forRoot({ lookup: new InMemoryLookup() })], async (test) => {
        expect((await request(test.app.getHttpServer()).get('/unguarded')).status).toBe(200);
        expect(test.handlers.calls).toEqual(['unguarded']);
      });
    });
  });

  describe('module visibility', () => {
    it('lets feature modules use the guard without importing ApiKeyModule (isGlobal defaults to true)', async () => {
      @Module({ controllers: [FeatureController], providers: [HandlerLog], exports: [HandlerLog] })
      class FeatureModule {}
      const test = await createTestApp(adapter, {
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup() }), FeatureModule],
      });
      try {
        const server = test.app.getHttpServer();
        expect((await request(server).get('/feature')).status).toBe(401);
        const granted = await request(server).get('/feature').set('X-API-KEY', KEYS.production);
        expect(granted.status).toBe(200);
        expect(granted.body).toEqual({ id: 'key-prod' });
      } finally {
        await test.close();
      }
    });

    it('keeps its providers to itself with isGlobal: false', async () => {
      @Module({ controllers: [FeatureController], providers: [HandlerLog] })
      class FeatureModule {}
      await expect(
        createTestApp(adapter, {
          imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), isGlobal: false }), FeatureModule],
        }),
      ).rejects.toThrow(/can't resolve dependencies of the ApiKeyGuard[\s\S]*import ApiKeyModule\.forRoot\(\)/);
    });
  });

  describe('start-up checks', () => {
    it.each<[string, unknown, RegExp]>([
      [
        'no lookup',
        ApiKeyModule.forRoot({} as ApiKeyModuleOptions),
        /nest-keyring: no key lookup configured\. Pass `lookup`/,
      ],
      [
        'a lookup without findKey',
        ApiKeyModule.forRoot({ lookup: {} as ApiKeyLookup }),
        /`lookup` has no `findKey\(key\)` method/,
      ],
      [
        'a class without findKey',
        ApiKeyModule.forRoot({ lookup: class NotALookup {} as never }),
        /`lookup` has no `findKey\(key\)` method/,
      ],
      [
        'a factory that returns no lookup',
        ApiKeyModule.forRootAsync({ useFactory: () => ({}) as ApiKeyModuleOptions }),
        /no key lookup configured/,
      ],
      [
        'an unknown environment',
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), environments: ['prod'] }),
        /`environments` names "prod"/,
      ],
      [
        'a misspelt option',
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), tenantHeaders: 'x-org' } as ApiKeyModuleOptions),
        /unknown option `tenantHeaders`\. Did you mean `tenantHeader`\?/,
      ],
      [
        'a misspelt option returned by a factory',
        ApiKeyModule.forRootAsync({
          useFactory: () => ({ lookup: new InMemoryLookup(), webhookSecret: 'x'.repeat(40) }) as ApiKeyModuleOptions,
        }),
        /unknown option `webhookSecret`\. Did you mean `webhookSecrets`\?/,
      ],
      [
        'a misspelt cache option',
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), cache: { ttl: 1000 } as never }),
        /unknown option `cache\.ttl`\. Did you mean `cache\.ttlMs`\?/,
      ],
      [
        '`protectAllRoutes: true` returned by a factory (it would leave every route open)',
        ApiKeyModule.forRootAsync({
          useFactory: () => ({ lookup: new InMemoryLookup(), protectAllRoutes: true }) as ApiKeyModuleOptions,
        }),
        /`protectAllRoutes` is a setting of the module, not an option: give it beside useFactory, e\.g\. ApiKeyModule\.forRootAsync\(\{ protectAllRoutes: \.\.\., useFactory \}\)/,
      ],
      [
        '`legacyKeys` beside the options it replaces',
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), legacyKeys: true, requireChecksum: false }),
        /`legacyKeys: true` already turns prefixes and checksums off; remove `requireChecksum`/,
      ],
      [
        'a realm with a quote',
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), realm: 'a"b' }),
        /`realm` must be 1 to 128 printable ASCII characters/,
      ],
    ])('fails the boot for %s, saying what to change', async (_, module, message) => {
      await expect(
        createTestApp(adapter, { imports: [module as never], controllers: [GuardedController] }),
      ).rejects.toThrow(message);
    });
  });
});

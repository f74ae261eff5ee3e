// Rows 2-7: one Nest 12 app on the Express adapter, in the variant named by argv[2]:
//   plain          row 2  no auth
//   public         row 2b no auth on the route, in an app that imports ApiKeyModule (tenancy on)
//   passport       row 3  @nestjs/passport + passport-headerapikey, header key -> in-memory map
//   guard          row 4  @UseGuards(ApiKeyGuard), in-memory lookup, default cache
//   guard-tenant   row 5  @ApiKeyAuth() (guard + TenantInterceptor), in-memory lookup
//   sqlite-cache   row 6  @ApiKeyAuth(), SqliteKeyStore (sample app) through the default cache
//   sqlite-nocache row 7  the same with `cache: false`
// Diagnostic variant (`--diagnose`):
//   als-only       no keyring: an interceptor that only runs the handler in AsyncLocalStorage.run()
//   noop-interceptor  no keyring: an interceptor that only returns next.handle()
//   noop-guard     no keyring: a guard that only returns true
//   noop-middleware  no keyring: a middleware that only calls next(), mounted on the platform by a
//                  module's configure(), as ApiKeyModule mounts its scope middleware before Node 24
import 'reflect-metadata';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Observable } from 'rxjs';
import {
  Controller,
  Get,
  Injectable,
  type CanActivate,
  Module,
  Req,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type DynamicModule,
  type NestInterceptor,
  type NestModule,
} from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import {
  ApiKeyAuth,
  ApiKeyGuard,
  ApiKeyModule,
  hashApiKey,
  TenantContext,
  type ApiKeyLookup,
  type ApiKeyRecord,
} from 'nest-keyring';
import { announce, BODY, benchKey, exitWithRunner, HOST, inMemoryLookup, inMemoryRecords } from './common.js';

exitWithRunner();

const VARIANTS = [
  'plain',
  'public',
  'passport',
  'guard',
  'guard-tenant',
  'sqlite-cache',
  'sqlite-nocache',
  'als-only',
  'noop-interceptor',
  'noop-guard',
  'noop-middleware',
] as const;
type Variant = (typeof VARIANTS)[number];
const variant = process.argv[2] as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`nest-app: unknown variant ${variant}`);

const tenants = new TenantContext();

interface BenchRequest {
  apiKey?: ApiKeyRecord;
  tenant?: { id: string | number };
  user?: ApiKeyRecord;
}

function whoami(request: BenchRequest) {
  return {
    key: request.apiKey?.id ?? request.user?.id ?? null,
    tenant: request.tenant?.id ?? null,
    context: tenants.find()?.id ?? null,
  };
}

// One controller class per variant, so each carries only its own decorators.
@Controller('bench')
class PlainController {
  @Get()
  bench() {
    return BODY;
  }

  @Get('whoami')
  whoami(@Req() request: BenchRequest) {
    return whoami(request);
  }
}

@UseGuards(AuthGuard('headerapikey'))
@Controller('bench')
class PassportController extends PlainController {}

@UseGuards(ApiKeyGuard)
@Controller('bench')
class GuardController extends PlainController {}

@ApiKeyAuth()
@Controller('bench')
class GuardTenantController extends PlainController {}

// What TenantInterceptor does around the handler, and nothing else.
const storage = new AsyncLocalStorage<{ id: number }>();
@Injectable()
class AlsOnlyInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    const tenant = { id: 456 };
    return new Observable((subscriber) => storage.run(tenant, () => next.handle().subscribe(subscriber)));
  }
}

@UseInterceptors(AlsOnlyInterceptor)
@Controller('bench')
class AlsOnlyController extends PlainController {}

// What any Nest interceptor costs, before it does anything.
@Injectable()
class NoopInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@UseInterceptors(NoopInterceptor)
@Controller('bench')
class NoopInterceptorController extends PlainController {}

// What any Nest guard costs, before it does anything.
@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@UseGuards(NoopGuard)
@Controller('bench')
class NoopGuardController extends PlainController {}

@Module({})
class BenchModule {}

// What a middleware on every request costs, mounted as ApiKeyModule mounts its scope middleware.
@Module({})
class NoopMiddlewareModule implements NestModule {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  configure(): void {
    this.adapterHost.httpAdapter.use((_request: unknown, _response: unknown, next: () => void) => next());
  }
}

/** The sample app's SQLite store, compiled by `tsc -p sample-app/tsconfig.json`. */
interface SampleStore {
  openDatabase(path: string): unknown;
  KeyAdmin: new (db: unknown) => {
    create(input: { environment: 'production' | 'staging'; tenantIds: number[]; scopes: string[]; label?: string }): {
      key: string;
    };
  };
  SqliteKeyStore: new (db: unknown) => ApiKeyLookup;
}

async function loadSampleStore(): Promise<SampleStore> {
  const dir = new URL('../../sample-app/dist/store/', import.meta.url);
  const load = (file: string) => import(new URL(file, dir).href);
  const [database, admin, store] = await Promise.all([
    load('database.js'),
    load('key-admin.js'),
    load('sqlite-key-store.js'),
  ]);
  return { openDatabase: database.openDatabase, KeyAdmin: admin.KeyAdmin, SqliteKeyStore: store.SqliteKeyStore };
}

async function appModule(): Promise<{ module: DynamicModule; key: string }> {
  const base = { module: BenchModule, global: false };
  if (variant === 'plain') return { module: { ...base, controllers: [PlainController] }, key: benchKey() };
  if (variant === 'public') {
    const key = benchKey();
    const lookup = inMemoryLookup(inMemoryRecords(key));
    return { module: { ...base, imports: [ApiKeyModule.forRoot({ lookup })], controllers: [PlainController] }, key };
  }
  if (variant === 'noop-middleware')
    return {
      module: { ...base, imports: [NoopMiddlewareModule], controllers: [PlainController] },
      key: benchKey(),
    };
  if (variant === 'noop-guard')
    return { module: { ...base, providers: [NoopGuard], controllers: [NoopGuardController] }, key: benchKey() };
  if (variant === 'noop-interceptor')
    return {
      module: { ...base, providers: [NoopInterceptor], controllers: [NoopInterceptorController] },
      key: benchKey(),
    };
  if (variant === 'als-only')
    return { module: { ...base, providers: [AlsOnlyInterceptor], controllers: [AlsOnlyController] }, key: benchKey() };

  if (variant === 'passport') {
    const key = benchKey();
    const records = inMemoryRecords(key);
    @Injectable()
    class HeaderKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, 'headerapikey') {
      constructor() {
        super({ header: 'Authorization', prefix: 'Bearer ' }, false);
      }
      // The same check as the keyring's in-memory lookup: hash the header key, read the map.
      validate(apiKey: string): ApiKeyRecord | null {
        return records.get(hashApiKey(apiKey)) ?? null;
      }
    }
    return {
      module: { ...base, imports: [PassportModule], providers: [HeaderKeyStrategy], controllers: [PassportController] },
      key,
    };
  }

  if (variant === 'guard' || variant === 'guard-tenant') {
    const key = benchKey();
    const lookup = inMemoryLookup(inMemoryRecords(key));
    const controller = variant === 'guard' ? GuardController : GuardTenantController;
    return { module: { ...base, imports: [ApiKeyModule.forRoot({ lookup })], controllers: [controller] }, key };
  }

  // SQLite: a fresh database file in the runner's temporary directory, one key issued through
  // the sample app's KeyAdmin (stored as a hash), tenants 123 and 456.
  const tmp = process.env.BENCH_TMP;
  if (!tmp) throw new Error('BENCH_TMP is not set: targets are started by bench/run.mjs');
  const { openDatabase, KeyAdmin, SqliteKeyStore } = await loadSampleStore();
  const db = openDatabase(join(tmp, `${variant}.sqlite`));
  const { key } = new KeyAdmin(db).create({
    environment: 'production',
    tenantIds: [123, 456],
    scopes: ['messages:send', 'messages:read'],
    label: 'bench',
  });
  const lookup = new SqliteKeyStore(db);
  const options = variant === 'sqlite-cache' ? { lookup } : { lookup, cache: false as const };
  return { module: { ...base, imports: [ApiKeyModule.forRoot(options)], controllers: [GuardTenantController] }, key };
}

const { module, key } = await appModule();
const app = await NestFactory.create(module, new ExpressAdapter(), { logger: ['error', 'fatal'] });
await app.listen(0, HOST);
announce(app.getHttpServer() as Server, key);

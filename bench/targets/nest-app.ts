// One Nest 12 app (Express adapter) serving every compared Nest route, so that routes are
// compared inside one process (two processes of the same app differ by more than the costs
// measured here):
//   /public    no guard                          /guard     @UseGuards(ApiKeyGuard)
//   /noop      a guard that returns true         /auth      @ApiKeyAuth() (guard + tenant context)
//   /sha       a hand-written guard: SHA-256 of  /passport  @nestjs/passport + passport-headerapikey,
//              the key, one Map read                        the same SHA-256 and Map read
// Rate limits are per key: /auth is also measured with a key limited in memory, one limited in
// Redis through the store's own client, and one through a client the app passes (REDIS_URL set
// by the runner), beside /redis-ping, which makes one bare Redis round trip and counts nothing; and,
// where the build signs keys, with a forged key its tag refuses. /auth is also measured with
// 100,000 distinct keys sent in turn, all held by the cache (and with its one key sent the same
// way). /sha-scope is the hand-written guard that also gives the rest of the request a tenant
// context (an AsyncLocalStorage scope).
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { createClient } from 'redis';
import {
  ApiKeyAuth,
  ApiKeyGuard,
  ApiKeyModule,
  InjectKeyring,
  Keyring,
  MemoryRateLimitStore,
  TenantContext,
  type ApiKeyRecord,
  type RateLimitStore,
} from 'nest-keyring';
import { redisRateLimitStore } from 'nest-keyring/redis';
import {
  announce,
  BODY,
  forgedKey,
  handWrittenLookup,
  HOST,
  inMemoryLookup,
  newKey,
  record,
  signingSecrets,
  WINDOW,
  type Row,
} from './common.js';

const secrets = signingSecrets();
const main = newKey(secrets !== undefined);
// Keys limited per key, each counted by another store (see limitStore below).
const LIMITED = [
  { id: 'limit-memory', window: WINDOW.memory, name: 'in memory', redis: false },
  { id: 'limit-redis', window: WINDOW.redisOwn, name: "in Redis, the store's client", redis: true },
  { id: 'limit-redis-app', window: WINDOW.redisApp, name: "in Redis, the app's client", redis: true },
  {
    id: 'limit-redis-timer',
    window: WINDOW.redisTimer,
    name: "in Redis, node-redis's per-command timeout left on (for comparison)",
    redis: true,
  },
].map((limit) => ({ ...limit, ...newKey(!!secrets) }));
// The many keys in use at once, each with a record of its own.
const MANY = 100_000;
const many = Array.from({ length: MANY }, () => newKey(!!secrets));
const records = new Map<string, ApiKeyRecord>([
  [main.hash, record('key_bench')],
  ...LIMITED.map((limit) => [limit.hash, record(`key_${limit.id}`, limit.window)] as const),
  ...many.map((made, index) => [made.hash, record(`key_many_${index}`)] as const),
]);
const lookup = inMemoryLookup(records);
const tenants = new TenantContext();

// The hand-written guard and the passport strategy keep their own map, by SHA-256 of the key.
const findOwn = handWrittenLookup(main.key);

@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class Sha256Guard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    this.authenticate(context);
    return true;
  }

  /** Puts the key's record on the request and answers it; throws 401 for an unknown key. */
  protected authenticate(context: ExecutionContext): ApiKeyRecord {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: ApiKeyRecord }>();
    const header = request.headers.authorization;
    const found = typeof header === 'string' && header.startsWith('Bearer ') && findOwn(header.slice(7));
    if (!found) throw new UnauthorizedException();
    return (request.user = found);
  }
}

// What a hand-written guard adds to give handlers a tenant context: a scope of the request's own.
const handWrittenContext = new AsyncLocalStorage<{ key: ApiKeyRecord; tenant: number }>();
@Injectable()
class Sha256ScopeGuard extends Sha256Guard {
  override canActivate(context: ExecutionContext): boolean {
    handWrittenContext.enterWith({ key: this.authenticate(context), tenant: 456 });
    return true;
  }
}

@Injectable()
class HeaderKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, 'headerapikey') {
  constructor() {
    super({ header: 'Authorization', prefix: 'Bearer ' }, false);
  }
  validate(apiKey: string): ApiKeyRecord | null {
    return findOwn(apiKey) ?? null;
  }
}

// One Redis round trip and nothing else, through the app's client with node-redis's timer off
// (as the store sends its script): what any Redis-backed limit costs before it counts anything.
let pingClient: { sendCommand(args: string[], options: { timeout: number }): Promise<unknown> } | undefined;
@Injectable()
class RedisPingGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await pingClient?.sendCommand(['PING'], { timeout: 0 });
    return true;
  }
}

@Controller()
class BenchController {
  @ApiKeyAuth()
  @Get('auth/whoami')
  whoami(@Req() request: { apiKey?: ApiKeyRecord; tenant?: { id: unknown } }) {
    return { key: request.apiKey?.id ?? null, tenant: request.tenant?.id ?? null, context: tenants.find()?.id ?? null };
  }
}

// The compared routes, each answering BODY behind its own decorators.
const routes: Record<string, MethodDecorator[]> = {
  public: [],
  noop: [UseGuards(NoopGuard)],
  sha: [UseGuards(Sha256Guard)],
  'sha-scope': [UseGuards(Sha256ScopeGuard)],
  passport: [UseGuards(AuthGuard('headerapikey'))],
  guard: [UseGuards(ApiKeyGuard)],
  auth: [ApiKeyAuth()],
  'redis-ping': [ApiKeyAuth(), UseGuards(RedisPingGuard)],
};
for (const [path, decorators] of Object.entries(routes)) {
  Object.defineProperty(BenchController.prototype, path, { value: () => BODY, configurable: true });
  const descriptor = Object.getOwnPropertyDescriptor(BenchController.prototype, path)!;
  for (const decorate of [...decorators, Get(path)]) decorate(BenchController.prototype, path, descriptor);
}

// Which store counts a key, by its window's length: one Map read, nothing a route notices.
const url = process.env.REDIS_URL;
const memory = new MemoryRateLimitStore();
const stores = new Map<number, RateLimitStore>();
if (url) {
  stores.set(WINDOW.redisOwn, redisRateLimitStore({ url }));
  // The client as an app makes it: node-redis's defaults, its command timeout on.
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  stores.set(WINDOW.redisApp, redisRateLimitStore({ client }));
  pingClient = client as unknown as typeof pingClient;
  // The same client with the store's per-command options dropped: what node-redis's timer costs.
  const timed = { sendCommand: (args: ReadonlyArray<string>) => client.sendCommand(args) };
  stores.set(WINDOW.redisTimer, redisRateLimitStore({ client: timed }));
}
const limitStore: RateLimitStore = {
  hit: (id, windowMs, limit) => (stores.get(windowMs) ?? memory).hit(id, windowMs, limit),
};

@Module({
  imports: [
    PassportModule,
    ApiKeyModule.forRoot({
      lookup,
      rateLimit: { store: limitStore },
      // Room for every key the runs send, the main ones and the many, for as long as a process
      // runs: row auth-100k measures hits among 100,000 held keys. (With the default 30 s, a key
      // of the many, sent once in 100,000 requests, would come back about as often as it expires.)
      cache: { maxEntries: 2 * MANY, ttlMs: 3_600_000 },
      ...(secrets ? { signingSecrets: secrets } : {}),
    }),
  ],
  providers: [NoopGuard, Sha256Guard, Sha256ScopeGuard, RedisPingGuard, HeaderKeyStrategy],
  controllers: [BenchController],
})
class BenchModule {
  constructor(@InjectKeyring() readonly keyring: Keyring) {}
}

const app = await NestFactory.create(BenchModule, new ExpressAdapter(), { logger: ['error', 'fatal'] });
await app.listen(0, HOST);
// The cache holds every one of the many keys before any run: each is admitted once.
const { keyring } = app.get(BenchModule);
for (const { key } of many) {
  const admitted = await keyring.admit({ authorization: `Bearer ${key}`, 'x-tenant-id': '456' });
  if (!admitted.ok) throw new Error(`a bench key was refused: ${admitted.failure.reason}`);
}

const guarded = { status: 200, guarded: true };
const rows: Row[] = [
  { id: 'public', name: 'no guard', path: '/public', key: main.key, status: 200, guarded: false },
  { id: 'noop', name: 'a no-op guard', path: '/noop', key: main.key, status: 200, guarded: false },
  { id: 'sha', name: 'hand-written guard: SHA-256 + Map', path: '/sha', key: main.key, ...guarded },
  {
    id: 'sha-scope',
    name: 'the hand-written guard and a tenant context (AsyncLocalStorage)',
    path: '/sha-scope',
    key: main.key,
    ...guarded,
  },
  { id: 'passport', name: 'passport-headerapikey', path: '/passport', key: main.key, ...guarded },
  { id: 'guard', name: 'ApiKeyGuard', path: '/guard', key: main.key, ...guarded },
  { id: 'auth', name: '@ApiKeyAuth()', path: '/auth', key: main.key, ...guarded },
  {
    id: 'auth-100k',
    name: `@ApiKeyAuth(), ${MANY.toLocaleString('en-US')} keys in turn, all cached`,
    path: '/auth',
    key: many[0].key,
    keys: many.map((made) => made.key),
    ...guarded,
  },
  // The many keys' requests are built one by one, which changes how the load arrives and what a
  // request costs the saturated server: their extra cost is measured against this row, which
  // sends its one key the same way.
  {
    id: 'auth-1',
    name: '@ApiKeyAuth(), one key, each request built as for the many',
    path: '/auth',
    key: main.key,
    keys: [main.key],
    ...guarded,
  },
  ...LIMITED.filter((limit) => url || !limit.redis).map((limit) => ({
    id: limit.id,
    name: `@ApiKeyAuth(), key limited ${limit.name}`,
    path: '/auth',
    key: limit.key,
    ...guarded,
    limited: true,
  })),
];
if (url)
  rows.push({
    id: 'redis-ping',
    name: '@ApiKeyAuth() and one Redis PING, no limit (what a round trip costs)',
    path: '/redis-ping',
    key: main.key,
    ...guarded,
  });
// The hand-written guard refusing an unknown key: what Nest's exception path costs any guard.
rows.push({
  id: 'sha-refused',
  name: 'hand-written guard, unknown key (refused: 401)',
  path: '/sha',
  key: forgedKey(),
  status: 401,
  guarded: true,
});
if (secrets)
  rows.push({
    id: 'forged',
    name: '@ApiKeyAuth(), forged signed key (refused: 401)',
    path: '/auth',
    key: forgedKey(),
    status: 401,
    guarded: true,
  });
announce(app.getHttpServer() as Server, rows, () => ({ lookups: lookup.calls }));

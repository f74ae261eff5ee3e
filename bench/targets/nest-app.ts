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
// where the build signs keys, with a forged key its tag refuses.
import 'reflect-metadata';
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
const records = new Map<string, ApiKeyRecord>([
  [main.hash, record('key_bench')],
  ...LIMITED.map((limit) => [limit.hash, record(`key_${limit.id}`, limit.window)] as const),
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
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: ApiKeyRecord }>();
    const header = request.headers.authorization;
    const found = typeof header === 'string' && header.startsWith('Bearer ') && findOwn(header.slice(7));
    if (!found) throw new UnauthorizedException();
    request.user = found;
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
    ApiKeyModule.forRoot({ lookup, rateLimit: { store: limitStore }, ...(secrets ? { signingSecrets: secrets } : {}) }),
  ],
  providers: [NoopGuard, Sha256Guard, RedisPingGuard, HeaderKeyStrategy],
  controllers: [BenchController],
})
class BenchModule {}

const app = await NestFactory.create(BenchModule, new ExpressAdapter(), { logger: ['error', 'fatal'] });
await app.listen(0, HOST);

const guarded = { status: 200, guarded: true };
const rows: Row[] = [
  { id: 'public', name: 'no guard', path: '/public', key: main.key, status: 200, guarded: false },
  { id: 'noop', name: 'a no-op guard', path: '/noop', key: main.key, status: 200, guarded: false },
  { id: 'sha', name: 'hand-written guard: SHA-256 + Map', path: '/sha', key: main.key, ...guarded },
  { id: 'passport', name: 'passport-headerapikey', path: '/passport', key: main.key, ...guarded },
  { id: 'guard', name: 'ApiKeyGuard', path: '/guard', key: main.key, ...guarded },
  { id: 'auth', name: '@ApiKeyAuth()', path: '/auth', key: main.key, ...guarded },
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

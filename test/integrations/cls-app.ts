// A Nest app with nestjs-cls, run by cls.spec.ts as its own Node process: nestjs-cls is a CommonJS
// package that requires @nestjs/common, which Nest 12 ships as ES modules only; Node loads that
// (require of an ES module), Jest's module system does not. Self-contained: it is transpiled and
// fed to `node --input-type=module`, so it imports packages only.
//
// CLS_ADAPTER: express | fastify. CLS_RECIPE: interceptor (ClsModule's interceptor with a setup)
// | middleware (ClsModule's middleware, and an interceptor that fills the key and tenant in).
// Listens on a port the system picks and sends `{ port, keys }` to its parent over IPC.
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type CallHandler,
  type DynamicModule,
  type ExecutionContext,
  type NestInterceptor,
  type Provider,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  ApiKeyAuth,
  ApiKeyContext,
  ApiKeyModule,
  generateApiKey,
  lookupByHash,
  Public,
  TenantContext,
  type ApiKeyRecord,
  type Tenant,
} from 'nest-keyring';
import { ClsModule, ClsService, type ClsStore } from 'nestjs-cls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Observable } from 'rxjs';

interface KeyringClsStore extends ClsStore {
  apiKey?: ApiKeyRecord;
  tenant?: Tenant;
}

const a = generateApiKey();
const b = generateApiKey();
const records = new Map<string, ApiKeyRecord>([
  [a.hash, { id: 'key-a', tenants: [{ id: 'tenant-a' }] }],
  [b.hash, { id: 'key-b', tenants: [{ id: 'tenant-b' }, { id: 'tenant-c' }] }],
]);

const apiKeys = new ApiKeyContext();
const tenants = new TenantContext();

/** Recipe 1: nestjs-cls's interceptor opens the CLS context after the guards, and copies both in. */
const interceptorRecipe = (): DynamicModule =>
  ClsModule.forRoot({
    global: true,
    interceptor: {
      mount: true,
      setup: (cls: ClsService<KeyringClsStore>) => {
        cls.set('apiKey', apiKeys.find());
        cls.set('tenant', tenants.find());
      },
    },
  });

/** Recipe 2: the CLS context opened by nestjs-cls's middleware, before the guards; an interceptor fills it in. */
@Injectable()
class KeyringToClsInterceptor implements NestInterceptor {
  constructor(
    private readonly cls: ClsService<KeyringClsStore>,
    private readonly keys: ApiKeyContext,
    private readonly tenantContext: TenantContext,
  ) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.cls.isActive()) {
      this.cls.set('apiKey', this.keys.find());
      this.cls.set('tenant', this.tenantContext.find());
    }
    return next.handle();
  }
}

/** Deep in the call stack: reads ClsService only, across an await. */
@Injectable()
class ClsReader {
  constructor(private readonly cls: ClsService<KeyringClsStore>) {}

  async read(delayMs: number) {
    const keyId = this.cls.get('apiKey')?.id ?? null;
    await sleep(delayMs);
    return { keyId, after: this.cls.get('apiKey')?.id ?? null, tenantId: this.cls.get('tenant')?.id ?? null };
  }
}

@Controller('cls')
class ClsController {
  constructor(private readonly reader: ClsReader) {}

  @ApiKeyAuth()
  @Get('slow')
  slow() {
    return this.reader.read(30);
  }

  @ApiKeyAuth()
  @Get('quick')
  quick() {
    return this.reader.read(1);
  }

  @Public()
  @Get('public')
  open() {
    return this.reader.read(1);
  }
}

const middlewareRecipe = process.env.CLS_RECIPE === 'middleware';
const providers: Provider[] = [ClsReader];
if (middlewareRecipe) providers.push({ provide: APP_INTERCEPTOR, useClass: KeyringToClsInterceptor });

@Module({
  imports: [
    ApiKeyModule.forRoot({ lookup: lookupByHash(async (hash) => records.get(hash) ?? null) }),
    middlewareRecipe ? ClsModule.forRoot({ global: true, middleware: { mount: true } }) : interceptorRecipe(),
  ],
  controllers: [ClsController],
  providers,
})
class AppModule {}

const adapter = process.env.CLS_ADAPTER === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(AppModule, adapter, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
const address = app.getHttpServer().address() as { port: number };
process.send?.({ port: address.port, keys: { a: a.key, b: b.key } });
// Ends with the test that started it.
process.on('disconnect', () => void app.close().then(() => process.exit(0)));

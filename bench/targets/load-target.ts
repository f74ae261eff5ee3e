// The target of the load test (bench/load-test.mjs): a Nest 12 app with @ApiKeyAuth() on every
// route but two loopback-only test hooks, and an in-memory store of hashed keys. Started by the
// load test with the keys to know in LOAD_KEYS (JSON: [{ key, id, tenants }]).
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import {
  ApiKeyAuth,
  ApiKeyCache,
  ApiKeyModule,
  CurrentApiKey,
  CurrentTenant,
  hashApiKey,
  lookupByHash,
  Public,
  TenantContext,
  type ApiKeyRecord,
  type Tenant,
} from 'nest-keyring';

interface IssuedKey {
  key: string;
  id: string;
  tenants: number[];
}

const issued = JSON.parse(process.env.LOAD_KEYS ?? '[]') as IssuedKey[];
const records = new Map<string, ApiKeyRecord>(
  issued.map(({ key, id, tenants }) => [
    hashApiKey(key),
    { id, tenants: tenants.map((tenant) => ({ id: tenant })), scopes: [] },
  ]),
);
const tenants = new TenantContext();

@ApiKeyAuth()
@Controller()
class WhoamiController {
  @Get('whoami')
  async whoami(@CurrentApiKey('id') keyId: string, @CurrentTenant() tenant: Tenant) {
    // Some async work, so concurrent requests interleave inside the tenant context.
    await new Promise((resolve) => setImmediate(resolve));
    return { keyId, tenantId: tenant.id, contextTenantId: tenants.tenantId };
  }
}

@Public()
@Controller('test-hooks')
class TestHooksController {
  constructor(private readonly cache: ApiKeyCache) {}

  /** Revokes a key in the store, then tells this process's cache: the signal the test times. */
  @Post('revoke/:id')
  @HttpCode(200)
  revoke(@Param('id') id: string) {
    for (const record of records.values()) if (record.id === id) record.revoked = true;
    this.cache.invalidateRecord(id);
    return { revoked: id };
  }

  @Get('heap')
  heap() {
    (globalThis as { gc?: () => void }).gc?.();
    return { heapUsed: process.memoryUsage().heapUsed, cacheSize: this.cache.size };
  }
}

@Module({
  // A copy per lookup, as a database driver returns: the cache must be told of a revocation.
  imports: [
    ApiKeyModule.forRoot({
      lookup: lookupByHash(async (hash) => structuredClone(records.get(hash)) ?? null),
      protectAllRoutes: true,
    }),
  ],
  controllers: [WhoamiController, TestHooksController],
})
class LoadModule {}

const app = await NestFactory.create(LoadModule, { logger: ['error'] });
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
process.send?.({ type: 'ready', port });
process.on('disconnect', () => process.exit(0));

import { Controller, Get, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import {
  ApiKeyAuth,
  ApiKeyMiddleware,
  ApiKeyModule,
  apiKeyMiddleware,
  CurrentApiKey,
  CurrentTenant,
  Keyring,
  RequireScopes,
  TenantContext,
  TenantMiddleware,
  tenantMiddleware,
  type ApiKeyRecord,
  type KeyringIncomingMessage,
  type KeyringOptions,
  type Tenant,
} from '../../lib/index.js';
import { demoRecords, InMemoryLookup } from '../fixtures/in-memory-lookup.js';
import { createTestApp, HandlerLog } from '../fixtures/test-app.js';
import { CONFORMANCE_KEYS, type Preset } from './conformance-cases.js';

/** A running app under test: its HTTP server, the handlers that ran, and how to stop it. */
export interface Host {
  server: Server;
  handlers: string[];
  close(): Promise<void>;
}

export type HostName = 'nest-express' | 'nest-fastify' | 'express-middleware' | 'nest-middleware-consumer';
export const HOSTS: HostName[] = ['nest-express', 'nest-fastify', 'express-middleware', 'nest-middleware-consumer'];

const tenantContext = new TenantContext();

function keyringOptions(preset: Preset): KeyringOptions {
  const records = demoRecords();
  records[CONFORMANCE_KEYS.multiTenant] = { id: 'key-multi', tenants: [{ id: 1 }, { id: 'org-b' }] };
  records[CONFORMANCE_KEYS.noTenant] = { id: 'key-none', tenants: [] };
  return { lookup: new InMemoryLookup(records), errorFormat: preset, lookupTimeoutMs: 150 };
}

/** What every host's handler answers: what it saw on the request and in the tenant context. */
function describeRequest(record: ApiKeyRecord | undefined, tenant: Tenant | undefined) {
  return { keyId: record?.id, tenantId: tenant?.id, tenantFromContext: tenantContext.find()?.id };
}

@Controller()
class GuardedController {
  constructor(private readonly handlers: HandlerLog) {}

  @ApiKeyAuth()
  @Get('protected')
  protected(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('protected');
    return describeRequest(record, tenant);
  }

  @ApiKeyAuth()
  @RequireScopes('messages:send')
  @Get('scoped')
  scoped(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('scoped');
    return describeRequest(record, tenant);
  }
}

/** Routes behind middleware applied with MiddlewareConsumer; scopes still come from the guard. */
@Controller()
class MiddlewareController {
  constructor(private readonly handlers: HandlerLog) {}

  @Get('protected')
  protected(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('protected');
    return describeRequest(record, tenant);
  }

  @RequireScopes('messages:send')
  @Get('scoped')
  scoped(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('scoped');
    return describeRequest(record, tenant);
  }
}

@Module({ controllers: [MiddlewareController] })
class MiddlewareRoutesModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(ApiKeyMiddleware, TenantMiddleware).forRoutes(MiddlewareController);
  }
}

async function nestHost(adapter: 'express' | 'fastify', preset: Preset): Promise<Host> {
  const test = await createTestApp(adapter, { imports: [ApiKeyModule.forRoot(keyringOptions(preset))], controllers: [GuardedController] });
  return { server: test.app.getHttpServer(), handlers: test.handlers.calls, close: () => test.close() };
}

async function nestMiddlewareHost(preset: Preset): Promise<Host> {
  const test = await createTestApp('express', { imports: [ApiKeyModule.forRoot(keyringOptions(preset)), MiddlewareRoutesModule] });
  return { server: test.app.getHttpServer(), handlers: test.handlers.calls, close: () => test.close() };
}

async function expressHost(preset: Preset): Promise<Host> {
  const keyring = new Keyring(keyringOptions(preset));
  const handlers: string[] = [];
  const app = express();
  const answer = (name: string) => (request: express.Request, response: express.Response) => {
    handlers.push(name);
    const { apiKey, tenant } = request as KeyringIncomingMessage;
    response.json(describeRequest(apiKey, tenant));
  };
  app.get('/protected', apiKeyMiddleware(keyring), tenantMiddleware(keyring), answer('protected'));
  app.get('/scoped', apiKeyMiddleware(keyring, { scopes: ['messages:send'] }), tenantMiddleware(keyring), answer('scoped'));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { server, handlers, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export function startHost(name: HostName, preset: Preset): Promise<Host> {
  switch (name) {
    case 'nest-express':
      return nestHost('express', preset);
    case 'nest-fastify':
      return nestHost('fastify', preset);
    case 'express-middleware':
      return expressHost(preset);
    case 'nest-middleware-consumer':
      return nestMiddlewareHost(preset);
  }
}

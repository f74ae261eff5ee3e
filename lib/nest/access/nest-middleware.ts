import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { Keyring } from '../../core/keyring.js';
import { openTenantScope } from '../../core/context/tenant-context.js';
import { apiKeyMiddleware } from '../../express/api-key.middleware.js';
import type { KeyringMiddleware } from '../../express/http-types.js';
import { tenantMiddleware } from '../../express/tenant.middleware.js';
import { KEYRING } from '../module/api-key.constants.js';

/**
 * `apiKeyMiddleware` configured from `ApiKeyModule`'s options, for `MiddlewareConsumer`: the
 * Nest class, where `apiKeyMiddleware` is the function for plain Express.
 *
 * @example
 * export class AppModule implements NestModule {
 *   configure(consumer: MiddlewareConsumer) {
 *     consumer.apply(ApiKeyNestMiddleware, TenantNestMiddleware).forRoutes(MessagesController);
 *   }
 * }
 */
@Injectable()
export class ApiKeyNestMiddleware implements NestMiddleware {
  readonly use: KeyringMiddleware;

  constructor(@Inject(KEYRING) keyring: Keyring) {
    this.use = apiKeyMiddleware(keyring, { logger: new Logger('ApiKeyNestMiddleware') });
  }
}

/** `tenantMiddleware` configured from `ApiKeyModule`'s options, for `MiddlewareConsumer`. */
@Injectable()
export class TenantNestMiddleware implements NestMiddleware {
  readonly use: KeyringMiddleware;

  constructor(@Inject(KEYRING) keyring: Keyring) {
    this.use = tenantMiddleware(keyring, { logger: new Logger('TenantNestMiddleware') });
  }
}

/**
 * Opens an empty scope of the request's own around the rest of each request. `ApiKeyModule`
 * mounts it on the HTTP platform; `ApiKeyGuard` then fills the tenant and the key in, so the
 * handler and everything it starts read them from `TenantContext` and `ApiKeyContext` without
 * an interceptor around them. Middleware is the cheapest place for this: an interceptor, even
 * one that does nothing, costs a route far more.
 */
export function tenantScopeMiddleware(request: object, _response: unknown, next: () => void): void {
  openTenantScope(request, next);
}

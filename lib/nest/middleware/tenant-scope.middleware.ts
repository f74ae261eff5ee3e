import { Injectable, type NestMiddleware } from '@nestjs/common';
import { openTenantScope } from '../../core/tenant-context.js';

/**
 * Opens an empty tenant scope around the rest of each request. `ApiKeyModule` mounts it for every
 * route (with `tenancy` on); `ApiKeyGuard` then fills the tenant in, so the handler and
 * everything it starts read it from `TenantContext` without an interceptor around them.
 * Middleware is the cheapest place for this: an interceptor, even one that does nothing, costs a
 * route far more (see bench/RESULTS.md).
 */
@Injectable()
export class TenantScopeMiddleware implements NestMiddleware {
  readonly use = (_request: unknown, _response: unknown, next: () => void): void => {
    openTenantScope(next);
  };
}

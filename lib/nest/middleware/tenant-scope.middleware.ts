import { openTenantScope } from '../../core/tenant-context.js';

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

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tenant } from './api-key-record.js';

/**
 * What the store holds: a scope whose tenant may be filled in later. A request's scope is opened
 * before its guards run (by `ApiKeyModule`'s scope middleware) and the guard fills the tenant
 * in once it has chosen it, so no interceptor has to wrap the handler.
 */
interface TenantScope {
  tenant: Tenant | undefined;
}

// One store per process, even if both the ESM and the CommonJS build get loaded.
const STORAGE = Symbol.for('nest-keyring:tenant-scope-storage');
const globals = globalThis as { [STORAGE]?: AsyncLocalStorage<TenantScope> };
const storage = (globals[STORAGE] ??= new AsyncLocalStorage<TenantScope>());

/** Runs `fn` (the rest of a request) in a new scope with no tenant yet. */
export function openTenantScope<R>(fn: () => R): R {
  return storage.run({ tenant: undefined }, fn);
}

/**
 * Sets the tenant of the current scope, for the code that runs after (and below) this call in
 * the same request. Returns false where no scope is open.
 */
export function enterTenant(tenant: Tenant): boolean {
  const scope = storage.getStore();
  if (scope === undefined) return false;
  scope.tenant = tenant;
  return true;
}

/** Thrown when code asks for the tenant where there is none. */
export class TenantContextError extends Error {
  override readonly name = 'TenantContextError';
}

/**
 * The tenant of the current request, readable anywhere below the handler (services,
 * repositories, async work the handler starts) without passing the request around. Built on
 * `AsyncLocalStorage`; set by `ApiKeyGuard` (Nest: `ApiKeyModule` opens a scope for every
 * request), `TenantInterceptor`, `tenantMiddleware` (Express), or `run()` for background jobs and
 * tests.
 *
 * @example
 * @Injectable()
 * export class MessagesService {
 *   constructor(private readonly tenants: TenantContext) {}
 *   send() { return this.repository.insert({ tenantId: this.tenants.tenant.id }); }
 * }
 */
export class TenantContext {
  /**
   * The current tenant.
   * @throws TenantContextError outside a tenant context: never a stale or default tenant.
   */
  get tenant(): Tenant {
    const tenant = storage.getStore()?.tenant;
    if (tenant === undefined) {
      throw new TenantContextError(
        'nest-keyring: no tenant in this context. The tenant is set for handlers behind ApiKeyGuard ' +
          '(@ApiKeyAuth()), TenantInterceptor or tenantMiddleware, and inside TenantContext.run(tenant, fn).',
      );
    }
    return tenant;
  }

  /** The current tenant's id; throws like `tenant` outside a tenant context. */
  get tenantId(): Tenant['id'] {
    return this.tenant.id;
  }

  /** The current tenant, or `undefined` outside a tenant context. */
  find(): Tenant | undefined {
    return storage.getStore()?.tenant;
  }

  /** True inside a tenant context. */
  get active(): boolean {
    return storage.getStore()?.tenant !== undefined;
  }

  /**
   * Runs `fn` as `tenant`: everything it calls, synchronously or later, sees that tenant.
   * For background jobs, queues and tests.
   */
  run<R>(tenant: Tenant, fn: () => R): R {
    if (typeof tenant !== 'object' || tenant === null || tenant.id === undefined || tenant.id === null) {
      throw new TenantContextError('nest-keyring: TenantContext.run() needs a tenant with an id.');
    }
    return storage.run({ tenant }, fn);
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tenant } from './api-key-record.js';

// One store per process, even if both the ESM and the CommonJS build get loaded.
const STORAGE = Symbol.for('nest-keyring:tenant-storage');
const globals = globalThis as { [STORAGE]?: AsyncLocalStorage<Tenant> };
const storage = (globals[STORAGE] ??= new AsyncLocalStorage<Tenant>());

/** Thrown when code asks for the tenant where there is none. */
export class TenantContextError extends Error {
  override readonly name = 'TenantContextError';
}

/**
 * The tenant of the current request, readable anywhere below the handler (services,
 * repositories, async work the handler starts) without passing the request around. Built on
 * `AsyncLocalStorage`; set by `TenantInterceptor` (Nest) or `tenantMiddleware` (Express), or by
 * `run()` for background jobs and tests.
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
    const tenant = storage.getStore();
    if (tenant === undefined) {
      throw new TenantContextError(
        'nest-keyring: no tenant in this context. The tenant is set for handlers behind @ApiKeyAuth() ' +
          '(or TenantInterceptor), and inside TenantContext.run(tenant, fn).',
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
    return storage.getStore();
  }

  /** True inside a tenant context. */
  get active(): boolean {
    return storage.getStore() !== undefined;
  }

  /**
   * Runs `fn` as `tenant`: everything it calls, synchronously or later, sees that tenant.
   * For background jobs, queues and tests.
   */
  run<R>(tenant: Tenant, fn: () => R): R {
    if (typeof tenant !== 'object' || tenant === null || tenant.id === undefined || tenant.id === null) {
      throw new TenantContextError('nest-keyring: TenantContext.run() needs a tenant with an id.');
    }
    return storage.run(tenant, fn);
  }
}

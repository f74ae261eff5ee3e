import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { ApiKeyRecord, Tenant } from '../keys/api-key-record.js';

/**
 * What the store holds: a scope whose tenant and key are filled in once chosen. A request's
 * scope is entered by its guard (or, before Node 24, opened before its guards run by
 * `ApiKeyModule`'s scope middleware) and is kept on the request itself, so the guard fills in
 * the scope of *its* request, whatever async context it happens to run in. `owner` is that
 * request (`undefined` for `TenantContext.run()` and `ApiKeyContext.run()`). One scope carries
 * both, so a request costs one `AsyncLocalStorage`.
 */
export interface TenantScope {
  readonly owner: object | undefined;
  tenant: Tenant | undefined;
  /** The authenticated key's record (`ApiKeyContext`). */
  key: ApiKeyRecord | undefined;
}

// One store per process, even if both the ESM and the CommonJS build get loaded.
const STORAGE = Symbol.for('nest-keyring:tenant-scope-storage');
const globals = globalThis as { [STORAGE]?: AsyncLocalStorage<TenantScope> };
const storage = (globals[STORAGE] ??= new AsyncLocalStorage<TenantScope>());

/**
 * Whether a scope entered with `AsyncLocalStorage.enterWith` stays inside the callback that
 * entered it. It does where `AsyncLocalStorage` is built on async context frames (Node 24 and
 * later): a guard may then enter its request's scope itself, and no middleware has to open one
 * around every request. Where it is built on async hooks (Node 20 and 22), `enterWith` writes the
 * store onto the current async resource, and an HTTP connection's resource serves every request
 * on that connection: a scope entered by one request's guard would still be current when the
 * next request on the connection starts. There `ApiKeyModule` opens a fresh scope around every
 * request first, and a guard only enters one for a request resumed in another's context.
 *
 * Decided once, by trying it: a store entered inside one callback of a resource, read from the
 * next callback of the same resource.
 */
export const enteredScopesStayInTheirCallback: boolean = (() => {
  const probe = new AsyncLocalStorage<true>();
  const resource = new AsyncResource('nest-keyring:scope-probe');
  resource.runInAsyncScope(() => probe.enterWith(true));
  const leaked = resource.runInAsyncScope(() => probe.getStore());
  resource.emitDestroy();
  probe.disable();
  return leaked === undefined;
})();

// Where a request keeps its own scope. `Symbol.for`: the ESM and CommonJS builds agree on it.
const REQUEST_SCOPE = Symbol.for('nest-keyring:request-tenant-scope');
type ScopedRequest = { [REQUEST_SCOPE]?: TenantScope };

/**
 * Runs `fn` (the rest of `request`) in a new scope of that request's own: with no tenant yet
 * (the scope middleware, for the guard to fill in), or as `tenant` with `key`'s record.
 */
export function openTenantScope<R>(request: object, fn: () => R, tenant?: Tenant, key?: ApiKeyRecord): R {
  const scope: TenantScope = { owner: request, tenant, key };
  (request as ScopedRequest)[REQUEST_SCOPE] = scope;
  return storage.run(scope, fn);
}

/**
 * Makes what follows this call, for `request`, run in a scope of `request`'s own, and returns
 * that scope. Call it synchronously at the start of a guard, before anything is awaited.
 *
 * Usually the current scope is the request's and this is one comparison. But a middleware that
 * parks requests and resumes them from a shared callback queue (a memoized loader, a callback
 * pool) runs request B's guard and handler in request A's async context: there the current
 * scope is A's. This then enters B's own scope (`AsyncLocalStorage.enterWith`, as a guard must:
 * Nest awaits it and calls the handler in the context it leaves), so B's handler reads B's
 * tenant, and A's scope is never touched.
 */
export function enterRequestScope(request: object): TenantScope {
  const current = storage.getStore();
  if (current !== undefined && current.owner === request) return current;
  const scope = ((request as ScopedRequest)[REQUEST_SCOPE] ??= { owner: request, tenant: undefined, key: undefined });
  storage.enterWith(scope);
  return scope;
}

/**
 * Fills in a request's scope (from `enterRequestScope`) with its admission: the key's record and,
 * with `tenancy` on, the tenant (`undefined` leaves either as it is). A scope's key and tenant,
 * once set, are never replaced: a second, different one for the same request is a bug upstream,
 * and refusing it is the only answer that cannot serve one tenant's data to another.
 *
 * @throws TenantContextError when the scope already holds another key or another tenant
 */
export function setScopeAdmission(scope: TenantScope, key: ApiKeyRecord | undefined, tenant: Tenant | undefined): void {
  if (key !== undefined && scope.key !== undefined && scope.key !== key) throw replaced('API key', 'key');
  if (tenant !== undefined && scope.tenant !== undefined && scope.tenant !== tenant) throw replaced('tenant', 'tenant');
  scope.key ??= key;
  scope.tenant ??= tenant;
}

function replaced(what: string, field: string): TenantContextError {
  return new TenantContextError(
    `nest-keyring: this request already acts for another ${what}; a request's ${field} is never replaced.`,
  );
}

/**
 * Runs `fn` (the rest of `request`) with the request's key and tenant in a scope of its own:
 * the current scope, filled in, when it is the request's (opened by `ApiKeyModule`, or by an
 * earlier middleware), else a new one. Never writes into a scope another request opened.
 */
export function runInRequestScope<R>(
  request: object,
  key: ApiKeyRecord | undefined,
  tenant: Tenant | undefined,
  fn: () => R,
): R {
  const current = storage.getStore();
  if (current === undefined || current.owner !== request) return openTenantScope(request, fn, tenant, key);
  setScopeAdmission(current, key, tenant);
  return fn();
}

/**
 * Runs `fn` as `tenant` and `key` (either `undefined` keeps the current one), in a scope of no
 * request's own: `TenantContext.run()`, `ApiKeyContext.run()`, `TenantInterceptor`.
 */
export function runInScope<R>(tenant: Tenant | undefined, key: ApiKeyRecord | undefined, fn: () => R): R {
  const current = storage.getStore();
  return storage.run({ owner: undefined, tenant: tenant ?? current?.tenant, key: key ?? current?.key }, fn);
}

/** The current scope's key's record, if any (`ApiKeyContext`). */
export function currentScopeKey(): ApiKeyRecord | undefined {
  return storage.getStore()?.key;
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
   * For background jobs, queues and tests. The current key (`ApiKeyContext`), if any, is kept.
   */
  run<R>(tenant: Tenant, fn: () => R): R {
    if (typeof tenant !== 'object' || tenant === null || tenant.id === undefined || tenant.id === null) {
      throw new TenantContextError('nest-keyring: TenantContext.run() needs a tenant with an id.');
    }
    return runInScope(tenant, undefined, fn);
  }
}

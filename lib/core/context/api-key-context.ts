import type { ApiKeyRecord } from '../keys/api-key-record.js';
import { currentScopeKey, runInScope } from './tenant-context.js';

/** Thrown when code asks for the current API key where there is none. */
export class ApiKeyContextError extends Error {
  override readonly name = 'ApiKeyContextError';
}

/**
 * The authenticated key of the current request, readable anywhere below the handler (services,
 * repositories, async work the handler starts) without a request-scoped provider. It is the
 * record the request was admitted with: the frozen snapshot `request.apiKey` holds, never the key
 * itself.
 *
 * It lives in the same request scope as the tenant (`TenantContext`), so it costs a request
 * nothing more. Set by `ApiKeyGuard` (`@ApiKeyAuth()`, `protectAllRoutes`), `ApiKeyNestMiddleware`,
 * `apiKeyMiddleware` and `tenantMiddleware` (Express), `TenantInterceptor` (for the record another
 * mechanism put on `request.apiKey`), or `run()` for background jobs and tests. In Nest, inject
 * it (`ApiKeyModule` provides it); elsewhere `new ApiKeyContext()`: every instance reads the
 * same store.
 *
 * @example
 * @Injectable()
 * export class AuditService {
 *   constructor(private readonly keys: ApiKeyContext) {}
 *   record(action: string) { return this.log.insert({ action, keyId: this.keys.keyId }); }
 * }
 */
export class ApiKeyContext {
  /**
   * The current request's key record.
   * @throws ApiKeyContextError outside an authenticated request or `run()`: never a stale key.
   */
  get key(): ApiKeyRecord {
    const key = currentScopeKey();
    if (key === undefined) {
      throw new ApiKeyContextError(
        'nest-keyring: no API key in this context. The key is set for handlers behind ApiKeyGuard ' +
          '(@ApiKeyAuth()), ApiKeyNestMiddleware, apiKeyMiddleware or TenantInterceptor, and inside ' +
          'ApiKeyContext.run(record, fn).',
      );
    }
    return key;
  }

  /** The current key's record id (never the key); throws like `key` outside a key context. */
  get keyId(): ApiKeyRecord['id'] {
    return this.key.id;
  }

  /** The current key's record, or `undefined` outside an authenticated request (a `@Public()` route, a job). */
  find(): ApiKeyRecord | undefined {
    return currentScopeKey();
  }

  /** True inside an authenticated request or `run()`. */
  get active(): boolean {
    return currentScopeKey() !== undefined;
  }

  /**
   * Runs `fn` as the key of `record`: everything it calls, synchronously or later, sees it.
   * For background jobs, queues and tests. The current tenant (`TenantContext`), if any, is
   * kept; nest them to set both: `keys.run(record, () => tenants.run(tenant, job))`.
   */
  run<R>(record: ApiKeyRecord, fn: () => R): R {
    if (typeof record !== 'object' || record === null || record.id === undefined || record.id === null) {
      throw new ApiKeyContextError('nest-keyring: ApiKeyContext.run() needs a key record with an id.');
    }
    return runInScope(undefined, record, fn);
  }
}

import { admitRequest } from '../core/admission/admit-request.js';
import { clientAddressOf } from '../core/admission/request-admission.js';
import { runInRequestScope } from '../core/context/tenant-context.js';
import { continueRequest } from './continue-request.js';
import type { KeyringLogger, KeyringMiddleware } from './http-types.js';
import { toKeyring, type KeyringSource } from './keyring-source.js';
import { rateLimitHeaders } from '../core/limits/rate-limit.js';
import { sendRefusal } from './send-refusal.js';

/** Per-mount settings of `apiKeyMiddleware`. */
export interface ApiKeyMiddlewareOptions {
  /** Scopes the key must hold on the routes behind this middleware (403 `INSUFFICIENT_SCOPE`). */
  scopes?: readonly string[];
  /** Where a failing key store is reported (never with the key). @default console */
  logger?: KeyringLogger;
}

/**
 * The `ApiKeyGuard` checks as Express middleware: reads and checks the key, picks the tenant
 * (with `tenancy` on), checks scopes, and puts `req.apiKey` / `req.tenant` on the request.
 * Refusals are answered with the same status, body and `WWW-Authenticate` as the Nest guard.
 * A second mount on the same request (a router-wide one, then a route's own with scopes) reuses
 * the first one's decision: the key and tenant, once chosen, are never replaced.
 *
 * Pass the same `Keyring` to several middleware to share one configuration and one cache.
 *
 * @example
 * const keyring = new Keyring({ lookup });
 * app.use('/api', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
 * app.post('/api/messages', apiKeyMiddleware(keyring, { scopes: ['messages:send'] }), send);
 */
export function apiKeyMiddleware(source: KeyringSource, mount: ApiKeyMiddlewareOptions = {}): KeyringMiddleware {
  const keyring = toKeyring(source);
  const scopes = [...(mount.scopes ?? [])];
  const logger = mount.logger ?? console;
  return (request, response, next) => {
    const decision = admitRequest(keyring, {
      request,
      headers: request.headers,
      rawHeaders: request.rawHeaders,
      clientAddress: clientAddressOf(request),
      requiredScopes: scopes,
    });
    // A key the cache holds is answered synchronously: next() runs in this call, no promise.
    continueRequest(decision, response, next, (decided, proceed) => {
      if (!decided.ok) return sendRefusal(response, decided.failure, keyring, logger, proceed);
      // A rate-limit store outage is logged once; the request goes on without a limit.
      if (decided.warning !== undefined)
        (logger.warn ?? logger.error).call(logger, `[nest-keyring] ${decided.warning}`);
      if (decided.rateLimit !== undefined && !response.headersSent)
        for (const [name, value] of Object.entries(rateLimitHeaders(decided.rateLimit)))
          response.setHeader(name, value);
      // The rest of the request reads its key (ApiKeyContext) and tenant (TenantContext).
      runInRequestScope(request, decided.record, decided.tenant, proceed);
    });
  };
}

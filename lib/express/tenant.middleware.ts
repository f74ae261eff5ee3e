import { decisionStarted, publishRefused } from '../core/admission/decision-events.js';
import { admissionOf } from '../core/admission/request-admission.js';
import { runInRequestScope } from '../core/context/tenant-context.js';
import { continueRequest } from './continue-request.js';
import type { ApiKeyRecord, Tenant } from '../core/keys/api-key-record.js';
import type { KeyringIncomingMessage, KeyringLogger, KeyringMiddleware } from './http-types.js';
import { toKeyring, type KeyringSource } from './keyring-source.js';
import { sendRefusal } from './send-refusal.js';

/**
 * The `TenantInterceptor` as Express middleware: runs everything after it (later middleware,
 * the route handler, the async work they start) inside a tenant context of the request's own,
 * so `TenantContext` answers without the request. Mount it after `apiKeyMiddleware`, whose
 * tenant it takes (never another); without an authenticated key it answers 401.
 *
 * @example
 * app.use('/api', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
 * app.get('/api/messages', (req, res) => res.json(messages.forTenant(new TenantContext().tenantId)));
 */
export function tenantMiddleware(source: KeyringSource, mount: { logger?: KeyringLogger } = {}): KeyringMiddleware {
  const keyring = toKeyring(source);
  const logger = mount.logger ?? console;
  return (request, response, next) => {
    // Admitted by apiKeyMiddleware (or the guard): its tenant, never another, and nothing to
    // refuse. The rest of the request runs in the request's own scope, which apiKeyMiddleware
    // usually opened already: then this is a comparison and `next()`.
    const admitted = admissionOf(request);
    if (admitted !== undefined) return runAsTenant(request, admitted.record, admitted.tenant, next);
    const started = decisionStarted();
    continueRequest(keyring.tenantFor(request, request.headers), response, next, (choice, proceed) => {
      if (!choice.ok) {
        publishRefused(started, request, choice.failure, keyring, request.apiKey);
        return sendRefusal(response, choice.failure, keyring, logger, proceed);
      }
      runAsTenant(request, admissionOf(request)?.record ?? request.apiKey, choice.tenant, proceed);
    });
  };
}

/**
 * Runs the rest of the request in a scope of its own, as `tenant` (and `key`): the rest of it,
 * and only it, acts as them. No tenant (`tenancy` off): nothing to add.
 */
function runAsTenant(
  request: KeyringIncomingMessage,
  key: ApiKeyRecord | undefined,
  tenant: Tenant | undefined,
  next: () => void,
): void {
  if (tenant === undefined) return next();
  request.tenant = tenant;
  runInRequestScope(request, key, tenant, next);
}

import type { TenantForResult } from '../core/keyring.js';
import { TenantContext } from '../core/tenant-context.js';
import type { KeyringLogger, KeyringMiddleware } from './http-types.js';
import { toKeyring, type KeyringSource } from './keyring-source.js';
import { sendRefusal } from './send-refusal.js';

const tenantContext = new TenantContext();

/**
 * The `TenantInterceptor` as Express middleware: runs everything after it (later middleware,
 * the route handler, the async work they start) inside the request's tenant context, so
 * `TenantContext` answers without the request. Mount it after `apiKeyMiddleware`; without an
 * authenticated key it answers 401.
 *
 * @example
 * app.use('/api', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
 * app.get('/api/messages', (req, res) => res.json(messages.forTenant(new TenantContext().tenantId)));
 */
export function tenantMiddleware(source: KeyringSource, mount: { logger?: KeyringLogger } = {}): KeyringMiddleware {
  const keyring = toKeyring(source);
  const logger = mount.logger ?? console;
  const respond = keyring.errorResponse.bind(keyring);
  return (request, response, next) => {
    const proceed = (choice: TenantForResult): void => {
      if (!choice.ok) {
        sendRefusal(response, choice.failure, respond, logger);
        return;
      }
      const { tenant } = choice;
      if (tenant === undefined) {
        next();
        return;
      }
      request.tenant = tenant;
      tenantContext.run(tenant, () => next());
    };
    // Synchronous when apiKeyMiddleware already chose the tenant.
    const choice = keyring.tenantForNow(request, request.headers);
    if (choice instanceof Promise) choice.then(proceed, next);
    else proceed(choice);
  };
}

import type { ApiKeyRecord, Tenant } from './api-key-record.js';
import { createApiKeyParser, type ApiKeyParser } from './api-key-format.js';
import { extractApiKey } from './credentials.js';
import { createErrorResponder, type ErrorResponse } from './error-format.js';
import { fail, type KeyringFailure } from './failure.js';
import { readHeader, type RequestHeaders } from './headers.js';
import { resolveKeyringOptions, type KeyringOptions, type ResolvedKeyringOptions } from './keyring-options.js';
import { callStore, findRecord } from './lookup.js';
import { checkRecord } from './record-check.js';
import { checkScopes } from './scopes.js';
import { chooseTenant, isTenantList, type TenantChoice } from './tenant-selection.js';

/** The outcome of authenticating a request. Never holds the key. */
export type AuthenticationResult =
  | { ok: true; record: ApiKeyRecord; environment: string | undefined }
  | { ok: false; failure: KeyringFailure };

/**
 * Every decision nest-keyring makes, behind one object that adapters (the Nest guard, the
 * Express middleware) call with what they read off a request.
 */
export class Keyring {
  readonly options: ResolvedKeyringOptions;
  private readonly parseKey: ApiKeyParser | undefined;
  private readonly acceptedEnvironments: ReadonlySet<string>;
  private readonly respond: (failure: KeyringFailure) => ErrorResponse;

  /** @throws KeyringConfigError for options that cannot work */
  constructor(options: KeyringOptions) {
    this.options = resolveKeyringOptions(options);
    const { keyPrefixes, environments, errorFormat } = this.options;
    this.parseKey = keyPrefixes === false ? undefined : createApiKeyParser(keyPrefixes);
    this.acceptedEnvironments = new Set(environments);
    this.respond = createErrorResponder(errorFormat);
  }

  /**
   * Reads the key from the headers, checks its form and environment, asks the lookup and
   * checks the record. Malformed keys and keys of an unaccepted environment never reach the
   * lookup.
   */
  async authenticate(headers: RequestHeaders): Promise<AuthenticationResult> {
    const credential = extractApiKey(headers, this.options.headers);
    if (!credential.ok) return credential;
    let environment: string | undefined;
    if (this.parseKey) {
      const parsed = this.parseKey(credential.key);
      if (parsed === null) return fail('invalid');
      if (!this.acceptedEnvironments.has(parsed.environment)) return fail('wrong_environment');
      environment = parsed.environment;
    }
    const found = await findRecord(this.options.lookup, credential.key, this.options.lookupTimeoutMs);
    if (!found.ok) return found;
    const checked = checkRecord(found.value, environment, Date.now());
    if (!checked.ok) return checked;
    return { ok: true, record: checked.record, environment };
  }

  /**
   * Picks the tenant for an authenticated record from the tenant header (see `chooseTenant`).
   * Tenants come from the record, or from `resolveTenants` when the record has no `tenants`.
   */
  async selectTenant(record: ApiKeyRecord, headers: RequestHeaders): Promise<TenantChoice> {
    let tenants: readonly Tenant[] | undefined = record.tenants;
    const { resolveTenants, lookupTimeoutMs, tenantHeader } = this.options;
    if (tenants === undefined && resolveTenants) {
      const resolved = await callStore(() => resolveTenants(record), lookupTimeoutMs, 'resolveTenants');
      if (!resolved.ok) return resolved;
      if (!isTenantList(resolved.value)) {
        return fail('lookup_unavailable', { cause: new TypeError('resolveTenants returned something other than a list of { id } tenants') });
      }
      tenants = resolved.value;
    }
    return chooseTenant(tenants ?? [], readHeader(headers, tenantHeader));
  }

  /** The failure to answer when `record` lacks one of `required`, else `undefined`. */
  checkScopes(record: ApiKeyRecord, required: readonly string[]): KeyringFailure | undefined {
    return checkScopes(record, required);
  }

  /** Status, body and headers (`WWW-Authenticate`) for a refusal, in the configured format. */
  errorResponse(failure: KeyringFailure): ErrorResponse {
    return this.respond(failure);
  }
}

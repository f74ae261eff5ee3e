import type { ApiKeyRecord, Tenant } from '../../core/keys/api-key-record.js';

/** What the guard adds to the request object. */
export interface ApiKeyRequestFields {
  /** The authenticated key's record (with `environment` filled from the key's prefix). */
  apiKey?: ApiKeyRecord;
  /** The tenant the request acts for (with `tenancy` on). */
  tenant?: Tenant;
}

/** A request as the guard and the interceptor see it. */
export type KeyringRequest = Record<string, unknown> & ApiKeyRequestFields & { headers: Record<string, unknown> };

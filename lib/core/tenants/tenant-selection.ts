import type { Tenant } from '../keys/api-key-record.js';
import { fail, type Result } from '../result.js';

/** The header that names the tenant, as in the CubeConnect contract. */
export const DEFAULT_TENANT_HEADER = 'x-tenant-id';

/** Longest tenant id read from the header. */
export const MAX_TENANT_ID_LENGTH = 128;

// Numbers, UUIDs, slugs and `org:123`-style ids; nothing that could be a path, a list or a wildcard.
const TENANT_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${MAX_TENANT_ID_LENGTH}}$`);

/** The tenant a request acts for, or why it has none. */
export type TenantChoice = Result<{ tenant: Tenant }>;

/** True for an object with a usable `id`: a non-empty string or a finite number (tenants, records). */
export function hasUsableId(value: unknown): value is Tenant {
  if (typeof value !== 'object' || value === null) return false;
  const { id } = value as { id?: unknown };
  return (typeof id === 'string' && id.length > 0) || (typeof id === 'number' && Number.isFinite(id));
}

/** True for a list of `{ id }` objects, the only shape a tenant list may have. */
export function isTenantList(value: unknown): value is Tenant[] {
  return Array.isArray(value) && value.every(hasUsableId);
}

/**
 * Picks the tenant a request acts for among the key's tenants.
 *
 * - No tenants: `no_tenant`. An empty list never means "all tenants".
 * - Header absent: the first tenant, in the order the lookup returned them.
 * - Header present: the tenant whose `id`, as a string, equals it. Anything else (unknown,
 *   empty, repeated, oversized, not a string) is `tenant_not_found`: never a silent fallback.
 *
 * @param requested the raw tenant header value (`undefined` when absent)
 */
export function chooseTenant(tenants: readonly Tenant[], requested: unknown): TenantChoice {
  if (tenants.length === 0) return fail('no_tenant');
  if (requested === undefined) return { ok: true, tenant: tenants[0]! };
  if (typeof requested !== 'string' || !TENANT_ID.test(requested)) return fail('tenant_not_found');
  for (const tenant of tenants) if (String(tenant.id) === requested) return { ok: true, tenant };
  return fail('tenant_not_found');
}

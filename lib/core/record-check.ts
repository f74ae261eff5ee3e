import type { ApiKeyRecord } from './api-key-record.js';
import { fail, type KeyringFailure } from './failure.js';
import { isTenantList } from './tenant-selection.js';

export type RecordCheck = { ok: true; record: ApiKeyRecord } | { ok: false; failure: KeyringFailure };

function isRecordShaped(value: unknown): value is ApiKeyRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, tenants, scopes } = value as Record<string, unknown>;
  const hasId = (typeof id === 'string' && id.length > 0) || (typeof id === 'number' && Number.isFinite(id));
  return (
    hasId &&
    (tenants === undefined || isTenantList(tenants)) &&
    (scopes === undefined || (Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string')))
  );
}

function expiryTime(expiresAt: ApiKeyRecord['expiresAt']): number {
  if (expiresAt instanceof Date) return expiresAt.getTime();
  if (typeof expiresAt === 'number') return expiresAt;
  if (typeof expiresAt === 'string') return Date.parse(expiresAt);
  return Number.NaN;
}

/**
 * Decides whether what a lookup returned grants access. Anything that is not a record with an
 * `id` is an unknown key; a record that is revoked, expired (or has an unreadable expiry), or
 * states another environment than the key's prefix is refused. The guard does this so that a
 * lookup can stay a plain query.
 *
 * @param keyEnvironment the environment the key's prefix names, when prefixes are in use
 */
export function checkRecord(value: unknown, keyEnvironment: string | undefined, now: number): RecordCheck {
  if (!isRecordShaped(value)) return fail('invalid');
  if (value.revoked) return fail('revoked');
  if (value.expiresAt !== undefined && value.expiresAt !== null) {
    const expiresAt = expiryTime(value.expiresAt);
    // NaN compares false both ways: an unreadable expiry is treated as passed.
    if (!(expiresAt > now)) return fail('expired');
  }
  if (keyEnvironment !== undefined && value.environment !== undefined && value.environment !== keyEnvironment) {
    return fail('wrong_environment');
  }
  return { ok: true, record: value };
}

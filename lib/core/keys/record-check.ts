import type { ApiKeyRecord } from './api-key-record.js';
import { recordSnapshot } from './record-snapshot.js';
import type { KeyringFailure } from '../refusals/failure.js';
import { fail, type Result } from '../result.js';
import { hasUsableId, isTenantList } from '../tenants/tenant-selection.js';

/**
 * What a store's answer means for a key, decided once when the answer arrives (the cache keeps
 * this, not the answer): a frozen snapshot of a usable record and its expiry time, or the
 * refusal. `recordId` marks a refusal of a known record (revoked, wrong environment), which
 * invalidation by record id must reach.
 */
export type KeyVerdict = Result<{ record: ApiKeyRecord; expiresAt: number | undefined }, { recordId?: string }>;

function isRecordShaped(value: unknown): value is ApiKeyRecord {
  if (!hasUsableId(value) || Array.isArray(value)) return false;
  const { tenants, scopes } = value;
  return (
    (tenants === undefined || isTenantList(tenants)) &&
    (scopes === undefined || (Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string')))
  );
}

/** A record's `expiresAt` as epoch milliseconds (`NaN` when unreadable, which `checkExpiry` treats as expired). */
export function expiryTime(expiresAt: ApiKeyRecord['expiresAt']): number {
  if (expiresAt instanceof Date) return expiresAt.getTime();
  if (typeof expiresAt === 'number') return expiresAt;
  if (typeof expiresAt === 'string') return Date.parse(expiresAt);
  return Number.NaN;
}

/**
 * Decides what a lookup's answer means, apart from the time: anything that is not a record with
 * an `id` is an unknown key; a revoked record, or one that states another environment than the
 * key's prefix, is refused. The expiry is read once, into a number, so nothing a handler does to
 * the record (a `Date` it moves) can extend the key's life.
 *
 * @param keyEnvironment the environment the key's prefix names, when prefixes are in use
 */
export function judgeAnswer(value: unknown, keyEnvironment: string | undefined): KeyVerdict {
  if (!isRecordShaped(value)) return fail('invalid');
  const recordId = String(value.id);
  if (value.revoked) return { ...fail('revoked'), recordId };
  if (keyEnvironment !== undefined && value.environment !== undefined && value.environment !== keyEnvironment) {
    return { ...fail('wrong_environment'), recordId };
  }
  const hasExpiry = value.expiresAt !== undefined && value.expiresAt !== null;
  // Frozen: a granted verdict is itself the result every request for the key receives.
  return Object.freeze({
    ok: true,
    record: recordSnapshot(value, keyEnvironment),
    expiresAt: hasExpiry ? expiryTime(value.expiresAt) : undefined,
  });
}

/** The record id a verdict belongs to (`undefined` for an unknown key), for the cache. */
export function verdictRecordId(verdict: unknown): string | undefined {
  const judged = verdict as KeyVerdict;
  return judged.ok ? String(judged.record.id) : judged.recordId;
}

/** Refuses a verdict's record once its expiry has passed; an unreadable expiry counts as passed. */
export function checkExpiry(verdict: KeyVerdict, now: number): Result<{ record: ApiKeyRecord }> {
  if (!verdict.ok) return { ok: false, failure: verdict.failure };
  // NaN compares false both ways: an unreadable expiry is treated as passed.
  if (verdict.expiresAt !== undefined && !(verdict.expiresAt > now)) return fail('expired');
  // The verdict itself (frozen, shared by every request for the key): nothing to allocate.
  return verdict;
}

/**
 * Checks that a record holds every required scope (exact, case-sensitive match).
 * Returns the failure to answer, or `undefined` when the record may proceed.
 */
export function checkScopes(record: ApiKeyRecord, required: readonly string[]): KeyringFailure | undefined {
  if (required.length === 0) return undefined;
  const granted = new Set(record.scopes ?? []);
  return required.every((scope) => granted.has(scope))
    ? undefined
    : { reason: 'insufficient_scope', requiredScopes: required };
}

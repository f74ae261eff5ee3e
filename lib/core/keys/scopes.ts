import type { ApiKeyRecord } from './api-key-record.js';
import type { KeyringFailure } from '../refusals/failure.js';

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

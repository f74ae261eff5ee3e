import type { ApiKeyLookup } from './api-key-record.js';
import { withTimeout } from './duration.js';
import { redactedError } from './failure.js';
import { fail, type Result } from './result.js';

/** The default for `lookupTimeoutMs`: long enough for a cold database, short enough for a client. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 3000;

/** What a store call answered, or `lookup_unavailable` (and `lookup_throttled`) when it could not. */
export type StoreResult<T> = Result<{ value: T }>;

/** Raised when the key store does not answer in time. */
export class LookupTimeoutError extends Error {
  override readonly name = 'LookupTimeoutError';
}

/**
 * Calls a store (the key lookup, `resolveTenants`), bounded by a timeout. A throw, a rejection
 * or a timeout is `lookup_unavailable` (answered 503): never a grant, and never mistaken for
 * an unknown key.
 *
 * @param what names the call in the timeout message
 * @param secret removed from the cause's message before anyone logs it
 */
export async function callStore<T>(
  call: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  secret?: string,
): Promise<StoreResult<T>> {
  const late = () => new LookupTimeoutError(`${what} did not answer within ${timeoutMs} ms`);
  try {
    return { ok: true, value: await withTimeout(Promise.resolve().then(call), timeoutMs, late) };
  } catch (error) {
    return fail('lookup_unavailable', { cause: redactedError(error, secret) });
  }
}

/** Asks the key lookup for `key`; see `callStore`. */
export function findRecord(lookup: ApiKeyLookup, key: string, timeoutMs: number): Promise<StoreResult<unknown>> {
  return callStore<unknown>(() => lookup.findKey(key), timeoutMs, 'key lookup', key);
}

import type { ApiKeyLookup } from '../keys/api-key-record.js';
import { redactedError } from '../refusals/failure.js';
import { fail, type Result } from '../result.js';

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
 * an unknown key. One promise and one timer per call, nothing raced.
 *
 * @param what names the call in the timeout message
 * @param secret removed from the cause's message before anyone logs it
 */
export function callStore<T>(
  call: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  secret?: string,
): Promise<StoreResult<T>> {
  return new Promise((resolve) => {
    const unavailable = (error: unknown) => fail('lookup_unavailable', { cause: redactedError(error, secret) });
    const timer = setTimeout(
      () => resolve(unavailable(new LookupTimeoutError(`${what} did not answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    // A hung store must not keep the process alive on shutdown.
    timer.unref?.();
    const done = (result: StoreResult<T>) => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      Promise.resolve(call()).then(
        (value) => done({ ok: true, value }),
        (error: unknown) => done(unavailable(error)),
      );
    } catch (error) {
      done(unavailable(error));
    }
  });
}

/** Asks the key lookup for `key`; see `callStore`. */
export function findRecord(lookup: ApiKeyLookup, key: string, timeoutMs: number): Promise<StoreResult<unknown>> {
  return callStore<unknown>(() => lookup.findKey(key), timeoutMs, 'key lookup', key);
}

/**
 * A value, or a promise of it when something had to be awaited to get it. Decisions answer
 * synchronously when they can (a key the cache holds): the hot path then creates no promise,
 * which matters once an `AsyncLocalStorage` (the tenant context) makes every promise cost a
 * hook call. `await` works on both forms.
 */
export type MaybePromise<T> = T | Promise<T>;

/** True when the value is still pending: a decision that had to await something. */
export function isPending<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/**
 * Continues a value that may be a promise: calls `fn` at once on a plain value (no promise is
 * created), or once the promise settles.
 *
 * @param onRejected called instead of `fn` when the promise rejects; a plain value never does
 *
 * @example
 * // A key the cache holds is logged now; one the store is asked about, once it answers.
 * then(keyring.authenticate(req.headers), (result) => console.log(result.ok));
 */
export function then<T, U>(
  value: MaybePromise<T>,
  fn: (value: T) => MaybePromise<U>,
  onRejected?: (error: unknown) => MaybePromise<U>,
): MaybePromise<U> {
  return isPending(value) ? value.then(fn, onRejected) : fn(value);
}

/**
 * Where a request stands against its key's limit: what `RateLimit-Policy` and `RateLimit`
 * say, on a granted request and on a refused one alike. A file of its own so that refusals
 * (`failure.ts`) carry it without importing the limiter.
 */
export interface RateLimitStatus {
  /** `"default"` when the `rateLimit.default` option applies, `"key"` when the key's record sets its own. */
  readonly policy: 'default' | 'key';
  readonly limit: number;
  readonly windowMs: number;
  /** Requests left in the current window (0 once the limit is reached). */
  readonly remaining: number;
  /** Milliseconds until the current window ends. */
  readonly resetMs: number;
}

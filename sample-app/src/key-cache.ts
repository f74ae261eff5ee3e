/** How long another process may still accept a key revoked elsewhere (see docs/caching.md). */
export const KEY_CACHE_TTL_MS = 5_000;

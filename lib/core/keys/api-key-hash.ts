import { createHash, createHmac } from 'node:crypto';
import type { ApiKeyLookup, ApiKeyRecord } from './api-key-record.js';

/** Options of `hashApiKey`. */
export interface HashApiKeyOptions {
  /**
   * A server-side secret (kept out of the database, e.g. in an environment variable). With it
   * the hash is HMAC-SHA-256, so a leaked table of hashes cannot be checked against guesses
   * without the pepper too.
   */
  pepper?: string;
}

/**
 * The hash to store instead of a key: SHA-256 (or HMAC-SHA-256 with a pepper), hex-encoded.
 * Keys are long random strings, so a fast hash is enough (unlike passwords) and lets the
 * store look a key up by an indexed column.
 *
 * @example
 * hashApiKey('pk_...')                                   // 64 hex characters
 * hashApiKey('pk_...', { pepper: process.env.KEY_PEPPER }) // HMAC-SHA-256
 */
export function hashApiKey(key: string, options: HashApiKeyOptions = {}): string {
  const { pepper } = options;
  if (pepper !== undefined && (typeof pepper !== 'string' || pepper.length === 0)) {
    throw new TypeError('nest-keyring: hashApiKey pepper must be a non-empty string.');
  }
  return (pepper === undefined ? createHash('sha256') : createHmac('sha256', pepper)).update(key, 'utf8').digest('hex');
}

/**
 * A lookup for stores that hold only hashes: hashes each key with `hashApiKey` and asks
 * `findByHash`. No raw key ever reaches the store.
 *
 * @example
 * ApiKeyModule.forRoot({
 *   lookup: lookupByHash((hash) => db.apiKey.findUnique({ where: { hash } }), { pepper: process.env.KEY_PEPPER }),
 * })
 */
export function lookupByHash(
  findByHash: (hash: string) => Promise<ApiKeyRecord | null | undefined>,
  options: HashApiKeyOptions = {},
): ApiKeyLookup {
  hashApiKey('', options); // checks the pepper at start-up, not at the first request
  return { findKey: (key) => findByHash(hashApiKey(key, options)) };
}

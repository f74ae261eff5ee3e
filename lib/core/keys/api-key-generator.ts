import { randomBytes } from 'node:crypto';
import { checksumOf, randomBase62 } from './api-key-checksum.js';
import { DEFAULT_KEY_PREFIXES } from './api-key-format.js';
import { hashApiKey } from './api-key-hash.js';
import { keySigner, SIGNATURE_MARKER } from './key-signature.js';

/** Random base62 characters in a generated key: 32 × log2(62) ≈ 190 bits. */
export const API_KEY_RANDOM_LENGTH = 32;

/** Options of `generateApiKey`. */
export interface GenerateApiKeyOptions {
  /** The environment, named in `prefixes`. @default 'production' */
  environment?: string;
  /** Environment name to prefix, as in the `keyPrefixes` option. @default { production: 'pk_', staging: 'sk_' } */
  prefixes?: Readonly<Record<string, string>>;
  /** Server-side secret for `hash` (see `hashApiKey`). */
  pepper?: string;
  /**
   * Signs the key with this secret, the first of the keyring's `signingSecrets` (at least 32
   * characters), so the keyring can refuse forged keys without a lookup. Without it the key is unsigned.
   */
  signingSecret?: string;
}

/** A new key and what to store about it. */
export interface GeneratedApiKey {
  /** The key. Show it to its owner once; never store or log it. */
  key: string;
  /** Its environment. */
  environment: string;
  /** What to store and look the key up by: `hashApiKey(key, { pepper })`. */
  hash: string;
  /** A short, non-secret label for dashboards and logs, e.g. `pk_a1B2…`. */
  displayPrefix: string;
}

/**
 * Makes a new API key: the environment's prefix, 32 random base62 characters from
 * `crypto.randomBytes` (≈190 bits), and a 6-character CRC32 checksum, e.g.
 * `pk_` + `Xq3…` + `0aZ9kQ`. The checksum lets the guard refuse typos and guesses without a
 * lookup; the characters are all URL-safe and valid in a Bearer token. With a `signingSecret`,
 * `_` and a 24-character tag (HMAC-SHA-256) come before the checksum: see docs/keys.md.
 *
 * @example
 * const { key, hash, displayPrefix } = generateApiKey({ environment: 'staging' });
 * await db.apiKey.create({ data: { hash, displayPrefix, environment: 'staging' } });
 * console.log(`Your key (shown once): ${key}`);
 */
export function generateApiKey(options: GenerateApiKeyOptions = {}): GeneratedApiKey {
  const { environment = 'production', prefixes = DEFAULT_KEY_PREFIXES, pepper, signingSecret } = options;
  if (signingSecret !== undefined && (typeof signingSecret !== 'string' || signingSecret.length < 32)) {
    throw new TypeError('nest-keyring: a signing secret must be a string of at least 32 characters.');
  }
  const prefix = Object.hasOwn(prefixes, environment) ? prefixes[environment] : undefined;
  if (prefix === undefined) {
    throw new TypeError(
      `nest-keyring: no prefix for environment "${environment}"; known: ${Object.keys(prefixes).join(', ')}.`,
    );
  }
  const random = randomBase62(API_KEY_RANDOM_LENGTH, randomBytes);
  let body = prefix + random;
  if (signingSecret !== undefined) body += SIGNATURE_MARKER + keySigner(signingSecret)(body + SIGNATURE_MARKER);
  const key = body + checksumOf(body);
  return { key, environment, hash: hashApiKey(key, { pepper }), displayPrefix: `${prefix}${random.slice(0, 4)}…` };
}

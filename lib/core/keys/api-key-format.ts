import { hasValidChecksum } from './api-key-checksum.js';
import { KeyringConfigError } from '../refusals/failure.js';

/** The Connexease Gateway's prefixes: `pk_` production, `sk_` staging. */
export const DEFAULT_KEY_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  production: 'pk_',
  staging: 'sk_',
});

/** Checks the `keyPrefixes` option at start-up. @throws KeyringConfigError */
export function resolvePrefixes(
  prefixes: Readonly<Record<string, string>> | false | undefined,
): Readonly<Record<string, string>> | false {
  if (prefixes === undefined) return DEFAULT_KEY_PREFIXES;
  if (prefixes === false) return false;
  const entries = typeof prefixes === 'object' && prefixes !== null ? Object.entries(prefixes) : [];
  if (entries.length === 0) {
    throw new KeyringConfigError(
      "`keyPrefixes` must map at least one environment to a prefix (e.g. { production: 'pk_' }), or be false.",
    );
  }
  for (const [environment, prefix] of entries) {
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw new KeyringConfigError(`\`keyPrefixes.${environment}\` must be a non-empty string such as 'pk_'.`);
    }
  }
  if (new Set(Object.values(prefixes)).size !== entries.length) {
    throw new KeyringConfigError(
      '`keyPrefixes` gives two environments the same prefix; each environment needs its own.',
    );
  }
  return Object.freeze({ ...prefixes });
}

/** Checks `environments` against the prefixes at start-up. @throws KeyringConfigError */
export function resolveEnvironments(
  environments: readonly string[] | undefined,
  prefixes: Readonly<Record<string, string>> | false,
): readonly string[] {
  if (prefixes === false) {
    if (environments !== undefined) {
      throw new KeyringConfigError(
        '`environments` needs `keyPrefixes`: without prefixes a key has no environment. Remove one of them.',
      );
    }
    return [];
  }
  if (environments === undefined) return Object.keys(prefixes);
  if (!Array.isArray(environments) || environments.length === 0) {
    throw new KeyringConfigError(`\`environments\` must list at least one of: ${Object.keys(prefixes).join(', ')}.`);
  }
  for (const environment of environments) {
    if (!Object.hasOwn(prefixes, environment)) {
      throw new KeyringConfigError(
        `\`environments\` names "${String(environment)}", which has no prefix; ` +
          `known: ${Object.keys(prefixes).join(', ')}. Add it to \`keyPrefixes\` or remove it.`,
      );
    }
  }
  return [...new Set(environments)];
}

/** What a key's shape says about it. */
export interface ParsedApiKey {
  /** The environment its prefix names, e.g. `'production'`. */
  environment: string;
  /** The prefix itself, e.g. `'pk_'`. */
  prefix: string;
}

/** Reads a key's environment from its prefix. `null` when no configured prefix matches. */
export type ApiKeyParser = (key: string) => ParsedApiKey | null;

/**
 * Builds a parser for a prefix table. Prefixes are case-sensitive and the longest match wins,
 * so `{ live: 'sk_live_', test: 'sk_' }` reads `sk_live_x` as `live`. A bare prefix with nothing
 * after it is not a key.
 */
export function createApiKeyParser(prefixes: Readonly<Record<string, string>>): ApiKeyParser {
  const table = Object.entries(prefixes)
    .map(([environment, prefix]) => ({ environment, prefix }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return (key) => {
    for (const entry of table) {
      if (key.length > entry.prefix.length && key.startsWith(entry.prefix)) return { ...entry };
    }
    return null;
  };
}

const parseWithDefaults = createApiKeyParser(DEFAULT_KEY_PREFIXES);

/**
 * Tells which environment a key belongs to, from its prefix, and whether its checksum (the
 * last six characters of keys made by `generateApiKey`) holds.
 *
 * @example
 * parseApiKey(generateApiKey({ environment: 'staging' }).key)
 * // { environment: 'staging', prefix: 'sk_', checksumValid: true }
 * parseApiKey('pk_3xAmple') // { environment: 'production', prefix: 'pk_', checksumValid: false }
 * parseApiKey('xk_3xAmple') // null
 */
export function parseApiKey(
  key: string,
  options?: { prefixes?: Record<string, string> },
): (ParsedApiKey & { checksumValid: boolean }) | null {
  const parsed = options?.prefixes ? createApiKeyParser(options.prefixes)(key) : parseWithDefaults(key);
  return parsed && { ...parsed, checksumValid: hasValidChecksum(key) };
}

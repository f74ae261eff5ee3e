import { describe, expect, it } from '@jest/globals';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { resolveKeyringOptions, type KeyringOptions } from '../../../../lib/core/options/keyring-options.js';

const lookup = { findKey: async () => null };

describe('resolveKeyringOptions', () => {
  it('fills every default', () => {
    expect(resolveKeyringOptions({ lookup })).toEqual({
      lookup,
      headers: ['authorization', 'x-api-key'],
      keyPrefixes: { production: 'pk_', staging: 'sk_' },
      environments: ['production', 'staging'],
      errorFormat: 'cubeconnect',
      lookupTimeoutMs: 3000,
      requireChecksum: true,
      cache: {
        maxEntries: 10000,
        maxUnknownEntries: 10000,
        ttlMs: 30000,
        negativeTtlMs: 5000,
        staleIfThrottledMs: 30000,
      },
      unknownKeyLookups: { perSecond: 100, burst: 500, perClientPerSecond: 10, perClientBurst: 50 },
      realm: 'api',
      tenancy: true,
      tenantHeader: 'x-tenant-id',
      resolveTenants: undefined,
      webhookRawBody: 'nest',
      rateLimit: { default: undefined, perTenant: false, store: undefined, timeoutMs: 500, countSocketMessages: true },
      signingSecrets: [],
      acceptUnsignedKeys: true,
    });
  });

  it('lower-cases and de-duplicates header names', () => {
    expect(resolveKeyringOptions({ lookup, headers: ['X-API-KEY', 'x-api-key', 'Authorization'] }).headers).toEqual([
      'x-api-key',
      'authorization',
    ]);
  });

  it('accepts custom prefixes and a subset of environments', () => {
    const resolved = resolveKeyringOptions({
      lookup,
      keyPrefixes: { live: 'sk_live_', test: 'sk_test_' },
      environments: ['live'],
    });
    expect(resolved.environments).toEqual(['live']);
  });

  it('merges cache options over the defaults, or turns the cache off', () => {
    expect(resolveKeyringOptions({ lookup, cache: { ttlMs: 0 } }).cache).toEqual({
      maxEntries: 10000,
      maxUnknownEntries: 10000,
      ttlMs: 0,
      negativeTtlMs: 5000,
      staleIfThrottledMs: 30000,
    });
    expect(resolveKeyringOptions({ lookup, cache: false }).cache).toBe(false);
  });

  it('turns prefixes off with false', () => {
    expect(resolveKeyringOptions({ lookup, keyPrefixes: false })).toMatchObject({
      keyPrefixes: false,
      environments: [],
    });
  });

  it.each<[string, Partial<KeyringOptions> | undefined, RegExp]>([
    ['no options', undefined, /pass at least `\{ lookup \}`/],
    ['no lookup', {}, /no key lookup configured\. Pass `lookup`/],
    ['a lookup without findKey', { lookup: {} as never }, /`lookup` has no `findKey\(key\)` method/],
    ['an empty header list', { lookup, headers: [] }, /`headers` must list at least one header name/],
    [
      'a header name with a space',
      { lookup, headers: ['x api key'] },
      /`headers\[0\]` \("x api key"\) is not a valid HTTP header name/,
    ],
    ['a header name that is not a string', { lookup, headers: [42 as never] }, /`headers\[0\]`/],
    [
      'an unknown error format',
      { lookup, errorFormat: 'stripe' as never },
      /`errorFormat` must be 'cubeconnect', 'connexease' or a function/,
    ],
    ['a zero timeout', { lookup, lookupTimeoutMs: 0 }, /`lookupTimeoutMs` must be a number of milliseconds above 0/],
    ['a NaN timeout', { lookup, lookupTimeoutMs: Number.NaN }, /`lookupTimeoutMs`/],
    ['a timeout past what a timer holds', { lookup, lookupTimeoutMs: 2 ** 31 }, /`lookupTimeoutMs`/],
    ['an empty prefix table', { lookup, keyPrefixes: {} }, /`keyPrefixes` must map at least one environment/],
    [
      'an empty prefix',
      { lookup, keyPrefixes: { production: '' } },
      /`keyPrefixes.production` must be a non-empty string/,
    ],
    ['two environments sharing a prefix', { lookup, keyPrefixes: { a: 'k_', b: 'k_' } }, /same prefix/],
    [
      'an environment without a prefix',
      { lookup, environments: ['prod'] },
      /`environments` names "prod", which has no prefix; known: production, staging/,
    ],
    [
      'an empty environment list',
      { lookup, environments: [] },
      /`environments` must list at least one of: production, staging/,
    ],
    [
      'environments without prefixes',
      { lookup, keyPrefixes: false, environments: ['production'] },
      /`environments` needs `keyPrefixes`/,
    ],
    [
      'a requireChecksum that is not a boolean',
      { lookup, requireChecksum: 'no' as never },
      /`requireChecksum` must be true or false/,
    ],
    ['a cache that is not an object', { lookup, cache: true as never }, /`cache` must be an object/],
    [
      'a cache bound of 0',
      { lookup, cache: { maxEntries: 0 } },
      /`cache.maxEntries` must be a whole number of at least 1/,
    ],
    ['a fractional cache bound', { lookup, cache: { maxEntries: 1.5 } }, /`cache.maxEntries`/],
    ['a negative TTL', { lookup, cache: { ttlMs: -1 } }, /`cache.ttlMs` must be a number of milliseconds, 0 or more/],
    ['a NaN negative TTL', { lookup, cache: { negativeTtlMs: Number.NaN } }, /`cache.negativeTtlMs`/],
    ['a tenancy that is not a boolean', { lookup, tenancy: 'yes' as never }, /`tenancy` must be true or false/],
    [
      'a tenant header with a space',
      { lookup, tenantHeader: 'x tenant' },
      /`tenantHeader` \("x tenant"\) is not a valid HTTP header name/,
    ],
    [
      'a resolveTenants that is not a function',
      { lookup, resolveTenants: [] as never },
      /`resolveTenants` must be a function/,
    ],
    ['an inherited environment name', { lookup, environments: ['toString'] }, /`environments` names "toString"/],
    ['a negative stale window', { lookup, cache: { staleIfThrottledMs: -1 } }, /`cache.staleIfThrottledMs` must be/],
    [
      'a per-client budget of 0',
      { lookup, unknownKeyLookups: { perClientBurst: 0 } },
      /`unknownKeyLookups.perClientBurst` must be a number of at least 1/,
    ],
    [
      'a trusted proxy that is a host name',
      { lookup, trustedProxies: ['proxy.internal'] },
      /`trustedProxies` entry "proxy.internal" is not an IP address or a subnet such as '10.0.0.0\/8'/,
    ],
    [
      'trusted proxies that are not a list',
      { lookup, trustedProxies: '10.0.0.1' as never },
      /`trustedProxies` must list/,
    ],
  ])('refuses %s with a message that says what to change', (_, options, message) => {
    const attempt = () => resolveKeyringOptions(options as KeyringOptions);
    expect(attempt).toThrow(KeyringConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^nest-keyring: /);
  });
});

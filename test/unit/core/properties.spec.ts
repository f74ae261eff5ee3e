import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CHECKSUM_LENGTH, hasValidChecksum } from '../../../lib/core/keys/api-key-checksum.js';
import { parseApiKey } from '../../../lib/core/keys/api-key-format.js';
import { generateApiKey } from '../../../lib/core/keys/api-key-generator.js';
import { extractApiKey, isWellFormedKey } from '../../../lib/core/admission/credentials.js';
import { Keyring } from '../../../lib/core/keyring.js';
import { chooseTenant } from '../../../lib/core/tenants/tenant-selection.js';
import { createSecretMatcher } from '../../../lib/core/webhooks/webhook-bearer.js';

const RUNS = { numRuns: 500 };

// Real keys too, so that some runs do reach the lookup.
const realKeys = [generateApiKey({ environment: 'production' }).key, generateApiKey({ environment: 'staging' }).key];

// What a header value can be when Node, a framework or a hand-built test request supplies it.
const headerValue = fc.oneof(
  fc.constantFrom(...realKeys),
  fc.constantFrom(...realKeys).map((key) => `Bearer ${key}`),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ maxLength: 600, unit: fc.constantFrom(...'pkst_-.~+/=Bearer ,"%;\\\t'.split('')) }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.integer(),
  fc.constant(undefined),
  fc.constant(null),
);
const bearerish = fc
  .tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', 'Basic ', '', 'Bearer'), fc.string())
  .map(([scheme, rest]) => scheme + rest);
const headers = fc.record(
  {
    authorization: fc.oneof(headerValue, bearerish),
    'x-api-key': headerValue,
    'x-tenant-id': headerValue,
  },
  { requiredKeys: [] },
);

describe('properties', () => {
  it('reading credentials never throws, and only well-formed keys come out', () => {
    fc.assert(
      fc.property(headers, (h) => {
        const result = extractApiKey(h, ['authorization', 'x-api-key']);
        if (result.ok) expect(isWellFormedKey(result.key)).toBe(true);
        else expect(['missing', 'malformed']).toContain(result.failure.reason);
      }),
      RUNS,
    );
  });

  it('the lookup is only ever asked for well-formed, checksum-valid keys of an accepted environment', async () => {
    const asked: string[] = [];
    let lookups = 0;
    const keyring = new Keyring({
      lookup: { findKey: async (key) => (asked.push(key), null) },
      environments: ['production'],
      cache: false,
    });
    await fc.assert(
      fc.asyncProperty(headers, async (h) => {
        asked.length = 0;
        const result = await keyring.admit(h);
        expect(result.ok).toBe(false);
        lookups += asked.length;
        for (const key of asked) {
          expect(isWellFormedKey(key)).toBe(true);
          expect(hasValidChecksum(key)).toBe(true);
          expect(parseApiKey(key)?.environment).toBe('production');
        }
      }),
      RUNS,
    );
    // The property above would hold vacuously if nothing ever reached the store.
    expect(lookups).toBeGreaterThan(0);
  });

  it('the constant-time secret comparison agrees with === on every pair', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.boolean(), (secret, other, same) => {
        const presented = same ? secret : other;
        expect(createSecretMatcher([secret])(presented)).toBe(presented === secret);
      }),
      RUNS,
    );
  });

  it('a generated key always parses and passes its checksum; any single-character change fails it', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-.~+/=';
    fc.assert(
      fc.property(
        fc.constantFrom('production', 'staging'),
        fc.nat(),
        fc.constantFrom(...alphabet.split('')),
        (environment, position, replacement) => {
          const { key } = generateApiKey({ environment });
          expect(parseApiKey(key)).toEqual({
            environment,
            prefix: environment === 'production' ? 'pk_' : 'sk_',
            checksumValid: true,
          });
          const index = position % key.length;
          fc.pre(key[index] !== replacement);
          const changed = key.slice(0, index) + replacement + key.slice(index + 1);
          expect(hasValidChecksum(changed)).toBe(false);
          expect(changed.length).toBe(key.length);
          expect(CHECKSUM_LENGTH).toBe(6);
        },
      ),
      RUNS,
    );
  });

  it('a tenant header never selects a tenant whose id it does not spell, and never falls back', () => {
    const tenants = fc.array(fc.record({ id: fc.oneof(fc.integer(), fc.string({ minLength: 1, maxLength: 12 })) }), {
      maxLength: 5,
    });
    fc.assert(
      fc.property(tenants, headerValue, (list, requested) => {
        const choice = chooseTenant(list, requested);
        if (!choice.ok) return;
        if (requested === undefined) expect(choice.tenant).toBe(list[0]);
        else expect(String(choice.tenant.id)).toBe(requested);
      }),
      RUNS,
    );
  });
});

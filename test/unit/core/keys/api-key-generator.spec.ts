import { describe, expect, it } from '@jest/globals';
import { createHash, createHmac } from 'node:crypto';
import { CHECKSUM_LENGTH, hasValidChecksum } from '../../../../lib/core/keys/api-key-checksum.js';
import { parseApiKey } from '../../../../lib/core/keys/api-key-format.js';
import { API_KEY_RANDOM_LENGTH, generateApiKey } from '../../../../lib/core/keys/api-key-generator.js';
import { hashApiKey, lookupByHash } from '../../../../lib/core/keys/api-key-hash.js';
import { isWellFormedKey } from '../../../../lib/core/admission/credentials.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('generateApiKey', () => {
  it.each([
    ['production', 'pk_'],
    ['staging', 'sk_'],
  ])('makes a %s key: prefix, 32 random base62 characters, 6-character checksum', (environment, prefix) => {
    const generated = generateApiKey({ environment });
    expect(generated.key).toMatch(new RegExp(`^${prefix}[0-9A-Za-z]{${API_KEY_RANDOM_LENGTH + CHECKSUM_LENGTH}}$`));
    expect(generated.environment).toBe(environment);
    expect(generated.displayPrefix).toBe(`${generated.key.slice(0, prefix.length + 4)}…`);
    expect(generated.hash).toBe(createHash('sha256').update(generated.key).digest('hex'));
    expect(parseApiKey(generated.key)).toEqual({ environment, prefix, checksumValid: true });
    expect(isWellFormedKey(generated.key)).toBe(true);
  });

  it('defaults to production', () => {
    expect(generateApiKey().key.startsWith('pk_')).toBe(true);
  });

  it('uses custom prefixes and a pepper', () => {
    const generated = generateApiKey({ environment: 'live', prefixes: { live: 'acme_live_' }, pepper: 'p3pper' });
    expect(generated.key.startsWith('acme_live_')).toBe(true);
    expect(generated.hash).toBe(createHmac('sha256', 'p3pper').update(generated.key).digest('hex'));
  });

  it('refuses an environment without a prefix', () => {
    expect(() => generateApiKey({ environment: 'prod' })).toThrow(
      /no prefix for environment "prod"; known: production, staging/,
    );
    expect(() => generateApiKey({ environment: 'toString' })).toThrow(/no prefix/);
  });

  it('never repeats a key and uses the whole alphabet', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey().key);
    expect(new Set(keys).size).toBe(keys.length);
    const used = new Set(keys.flatMap((key) => [...key.slice(3, 3 + API_KEY_RANDOM_LENGTH)]));
    expect([...used].sort().join('')).toBe([...BASE62].sort().join(''));
  });

  it('fails its checksum after any single-character change', () => {
    for (let round = 0; round < 20; round++) {
      const { key } = generateApiKey({ environment: round % 2 ? 'staging' : 'production' });
      for (let i = 0; i < key.length; i++) {
        const replacement = BASE62[(BASE62.indexOf(key[i]!) + 1 + round) % 62] ?? 'x';
        const changed = key.slice(0, i) + (replacement === key[i] ? '_' : replacement) + key.slice(i + 1);
        expect(hasValidChecksum(changed)).toBe(false);
      }
      expect(hasValidChecksum(key)).toBe(true);
      expect(hasValidChecksum(key.slice(0, -1))).toBe(false);
      expect(hasValidChecksum(`${key}0`)).toBe(false);
    }
  });
});

describe('hashApiKey', () => {
  it('is SHA-256 in hex, or HMAC-SHA-256 with a pepper', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey('abc', { pepper: 'key' })).toBe(createHmac('sha256', 'key').update('abc').digest('hex'));
    expect(hashApiKey('abc', { pepper: 'key' })).not.toBe(hashApiKey('abc'));
  });

  it('refuses an empty pepper', () => {
    expect(() => hashApiKey('abc', { pepper: '' })).toThrow(/pepper must be a non-empty string/);
  });
});

describe('lookupByHash', () => {
  it('asks the store by hash, never by key', async () => {
    const { key, hash } = generateApiKey({ pepper: 'pep' });
    const asked: string[] = [];
    const lookup = lookupByHash(
      async (h) => {
        asked.push(h);
        return h === hash ? { id: 'k1' } : null;
      },
      { pepper: 'pep' },
    );
    expect(await lookup.findKey(key)).toEqual({ id: 'k1' });
    expect(await lookup.findKey(generateApiKey().key)).toBeNull();
    expect(asked[0]).toBe(hash);
    expect(asked.join()).not.toContain('pk_');
  });

  it('checks the pepper when it is created', () => {
    expect(() => lookupByHash(async () => null, { pepper: '' })).toThrow(/pepper/);
  });
});

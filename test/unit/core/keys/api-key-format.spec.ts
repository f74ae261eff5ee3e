import { describe, expect, it } from '@jest/globals';
import { checksumOf } from '../../../../lib/core/keys/api-key-checksum.js';
import { createApiKeyParser, parseApiKey } from '../../../../lib/core/keys/api-key-format.js';

describe('parseApiKey', () => {
  it.each([
    ['pk_abc', 'production', 'pk_'],
    ['sk_abc', 'staging', 'sk_'],
  ])('reads %s as %s', (key, environment, prefix) => {
    expect(parseApiKey(key)).toEqual({ environment, prefix, checksumValid: false });
  });

  it.each([
    'xk_abc',
    'SK_abc',
    'Pk_abc',
    'sk-abc',
    'sk_',
    'pk_',
    '',
    'abc',
    '_sk_abc',
    '__proto__',
    'constructor',
    'toString',
  ])('finds no environment in %p', (key) => {
    expect(parseApiKey(key)).toBeNull();
  });

  it('says whether the checksum holds', () => {
    expect(parseApiKey(`pk_abc${checksumOf('pk_abc')}`)).toEqual({
      environment: 'production',
      prefix: 'pk_',
      checksumValid: true,
    });
    expect(parseApiKey(`pk_abd${checksumOf('pk_abc')}`)?.checksumValid).toBe(false);
  });

  it('prefers the longest matching prefix', () => {
    const parse = createApiKeyParser({ test: 'sk_', live: 'sk_live_' });
    expect(parse('sk_live_abc')).toEqual({ environment: 'live', prefix: 'sk_live_' });
    expect(parse('sk_abc')).toEqual({ environment: 'test', prefix: 'sk_' });
  });

  it('uses custom prefixes when given', () => {
    expect(parseApiKey('live_1', { prefixes: { live: 'live_' } })).toEqual({
      environment: 'live',
      prefix: 'live_',
      checksumValid: false,
    });
    expect(parseApiKey('pk_1', { prefixes: { live: 'live_' } })).toBeNull();
  });
});

import { describe, expect, it } from '@jest/globals';
import { closestName, refuseUnknownOptions } from '../../../../lib/core/options/option-checks.js';

const KNOWN = ['lookup', 'headers', 'tenantHeader', 'webhookSecrets', 'cache', 'errorFormat'];

describe('refuseUnknownOptions', () => {
  it.each([
    ['tenantHeaders', 'tenantHeader'],
    ['webhookSecret', 'webhookSecrets'],
    ['header', 'headers'],
    ['errorFromat', 'errorFormat'],
    ['Lookup', 'lookup'],
  ])('refuses %s and suggests %s', (given, meant) => {
    expect(() => refuseUnknownOptions({ [given]: 1 }, KNOWN)).toThrow(
      `unknown option \`${given}\`. Did you mean \`${meant}\`?`,
    );
  });

  it('names every known option, and suggests nothing for a name far from all of them', () => {
    expect(() => refuseUnknownOptions({ frobnicate: true }, KNOWN)).toThrow(
      /unknown option `frobnicate`\. Known options: lookup, headers, tenantHeader/,
    );
    expect(closestName('frobnicate', KNOWN)).toBeUndefined();
  });

  it('prefixes nested option names', () => {
    expect(() => refuseUnknownOptions({ ttl: 5 }, ['ttlMs', 'maxEntries'], 'cache.')).toThrow(
      'unknown option `cache.ttl`. Did you mean `cache.ttlMs`?',
    );
  });

  it('accepts known names', () => {
    expect(() => refuseUnknownOptions({ lookup: {}, cache: false }, KNOWN)).not.toThrow();
  });
});

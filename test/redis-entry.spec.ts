// `nest-keyring/redis` as users load it (the built package), and the root entry without it.
import { describe, expect, it } from '@jest/globals';
import { runNode } from './support/child-env.js';

describe('nest-keyring/redis', () => {
  it('loads with require() from CommonJS', () => {
    expect(runNode(['-e', "console.log(typeof require('nest-keyring/redis').redisInvalidationBus)"])).toBe('function');
  });

  it('loads with import from an ES module', () => {
    expect(
      runNode([
        '--input-type=module',
        '-e',
        "const r = await import('nest-keyring/redis'); console.log(typeof r.redisInvalidationBus)",
      ]),
    ).toBe('function');
  });

  it('is not loaded by the root entry: an app without Redis loads nothing of it', () => {
    const redisFiles = 'Object.keys(require.cache).filter((p) => /[\\\\/]@?redis[\\\\/]/.test(p)).length';
    const loaded = runNode(['-e', `require('nest-keyring'); console.log(${redisFiles})`]);
    expect(loaded).toBe('0');
  });

  it('refuses options that cannot work when the bus is made, not at the first revocation', () => {
    expect(
      runNode([
        '--input-type=module',
        '-e',
        "const { redisInvalidationBus } = await import('nest-keyring/redis'); " +
          "try { redisInvalidationBus({}); } catch (e) { console.log(e.name + ': ' + e.message); }",
      ]),
    ).toBe(
      'KeyringConfigError: nest-keyring: `redisInvalidationBus` needs either `url` (e.g. redis://127.0.0.1:6379) or ' +
        '`client` (a node-redis client), and got neither.',
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import { MemoryInvalidationBus } from '../../../fixtures/memory-invalidation-bus.js';
import { SIGNING_SECRETS } from '../../../fixtures/webhook-secrets.js';
import { redisInvalidationBus } from '../../../../lib/redis/redis-invalidation-bus.js';
import { checkDuration, isDuration, MAX_DURATION_MS, withTimeout } from '../../../../lib/core/options/duration.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import type { KeyringOptions } from '../../../../lib/core/options/keyring-options.js';
import { planKeyRoll } from '../../../../lib/core/keys/key-roll.js';

const lookup = { findKey: async () => null };
const TOO_LONG = [1e16, Number.MAX_SAFE_INTEGER, MAX_DURATION_MS + 1, Infinity, Number.NaN, -1];

// Every option that is a duration, with where it goes in the options.
const OPTIONS: Array<[string, (value: number) => Partial<KeyringOptions>]> = [
  ['lookupTimeoutMs', (value) => ({ lookupTimeoutMs: value })],
  ['cache.ttlMs', (value) => ({ cache: { ttlMs: value } })],
  ['cache.negativeTtlMs', (value) => ({ cache: { negativeTtlMs: value } })],
  ['rateLimit.timeoutMs', (value) => ({ rateLimit: { timeoutMs: value } })],
  ['usage.flushIntervalMs', (value) => ({ usage: { onUsed() {}, flushIntervalMs: value } })],
  ['usage.timeoutMs', (value) => ({ usage: { onUsed() {}, timeoutMs: value } })],
  [
    'ttlWhileDisconnectedMs',
    (value) => ({ invalidationBus: new MemoryInvalidationBus({ ttlWhileDisconnectedMs: value }) }),
  ],
];

describe('duration options', () => {
  it.each(OPTIONS.flatMap(([name, options]) => TOO_LONG.map((value) => [name, value, options] as const)))(
    'refuses `%s` of %p at start-up, naming the bounds',
    (name, value, options) => {
      const attempt = () => new Keyring({ lookup, ...options(value) });
      expect(attempt).toThrow(KeyringConfigError);
      expect(attempt).toThrow(
        new RegExp(
          `\`${name.replace('.', '\\.')}\` must be a number of milliseconds.* ` +
            `and at most 2147483647; got ${String(value)}\\.`,
        ),
      );
    },
  );

  it.each(OPTIONS)('accepts `%s` at its maximum, 2147483647 ms', (_, options) => {
    expect(() => new Keyring({ lookup, ...options(MAX_DURATION_MS) })).not.toThrow();
  });

  it.each(TOO_LONG)('refuses a default rate-limit window of %p', (windowMs) => {
    expect(() => new Keyring({ lookup, rateLimit: { default: { limit: 5, windowMs } } })).toThrow(
      /`rateLimit\.default` must be \{ limit, windowMs \}/,
    );
  });

  it('refuses a webhook tolerance past 2147483 seconds', () => {
    const secrets = (toleranceSeconds: number) => ({
      webhookSecrets: {
        events: { scheme: 'standard-webhooks' as const, secrets: SIGNING_SECRETS.current, toleranceSeconds },
      },
    });
    expect(() => new Keyring({ lookup, ...secrets(2_147_483) })).not.toThrow();
    for (const value of [1e16, Number.MAX_SAFE_INTEGER, 2_147_484]) {
      expect(() => new Keyring({ lookup, ...secrets(value) })).toThrow(
        '`webhookSecrets.events.toleranceSeconds` must be a whole number of seconds above 0 ' +
          `and at most 2147483; got ${value}.`,
      );
    }
  });

  it("refuses redisInvalidationBus's ttlWhileDisconnectedMs past the maximum", () => {
    expect(() => redisInvalidationBus({ url: 'redis://127.0.0.1:1', ttlWhileDisconnectedMs: 1e16 })).toThrow(
      /`ttlWhileDisconnectedMs` must be a number of milliseconds, 0 or more, and at most 2147483647; got 10000000000000000\./,
    );
  });

  it('planKeyRoll refuses an overlap past its maximum with a TypeError', () => {
    const record = { id: 'k', environment: 'production' };
    for (const overlapMs of [1e16, Number.MAX_SAFE_INTEGER]) {
      expect(() => planKeyRoll(record, { overlapMs })).toThrow(TypeError);
    }
  });
});

describe('checkDuration', () => {
  it('says what is expected: whole, seconds, above 0, the maximum', () => {
    expect(checkDuration('x', 0)).toBe(0);
    expect(() => checkDuration('x', 0, { positive: true })).toThrow(
      'nest-keyring: `x` must be a number of milliseconds above 0 and at most 2147483647; got 0.',
    );
    expect(() => checkDuration('x', 1.5, { whole: true, max: 10 }, (message) => new TypeError(message))).toThrow(
      new TypeError('`x` must be a whole number of milliseconds, 0 or more, and at most 10; got 1.5.'),
    );
    expect(isDuration('5', {})).toBe(false);
    expect(isDuration(2_147_483, { seconds: true })).toBe(true);
    expect(isDuration(2_147_484, { seconds: true })).toBe(false);
  });
});

describe('withTimeout', () => {
  it('answers, or rejects with the timeout error; a late rejection is never unhandled', async () => {
    await expect(withTimeout(Promise.resolve(1), 50, () => new Error('late'))).resolves.toBe(1);
    const hung = new Promise<number>((_, reject) => setTimeout(() => reject(new Error('after')), 30));
    await expect(withTimeout(hung, 5, () => new Error('late'))).rejects.toThrow('late');
    await new Promise((resolve) => setTimeout(resolve, 40));
  });
});

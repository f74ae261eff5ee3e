import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { generateApiKey } from '../../../../lib/core/keys/api-key-generator.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import {
  resolveUsageOptions,
  UsageRecorder,
  type KeyUsage,
  type UsageOptions,
} from '../../../../lib/core/keys/key-usage.js';

/** A recorder on a hand-moved clock; warnings and batches are kept. */
function recorder(options: Partial<UsageOptions> & Pick<UsageOptions, 'onUsed'>) {
  const warnings: string[] = [];
  let time = Date.parse('2026-01-01T00:00:00Z');
  const resolved = resolveUsageOptions({ logger: { warn: (line) => warnings.push(line) }, ...options })!;
  const usage = new UsageRecorder(resolved, () => time);
  return { usage, warnings, advance: (ms: number) => (time += ms), at: (ms: number) => new Date(ms) };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => expect(unhandled).toEqual([]));

describe('UsageRecorder', () => {
  it('hands each key over once a batch, with the time of its last use', async () => {
    const batches: KeyUsage[][] = [];
    const { usage, advance } = recorder({ onUsed: (batch) => void batches.push([...batch]) });
    usage.record('key_1');
    advance(1000);
    usage.record('key_2');
    advance(1000);
    usage.record('key_1');
    await usage.flush();
    expect(batches).toEqual([
      [
        { recordId: 'key_1', lastUsedAt: new Date('2026-01-01T00:00:02Z') },
        { recordId: 'key_2', lastUsedAt: new Date('2026-01-01T00:00:01Z') },
      ],
    ]);
    // Nothing pending: no call with an empty batch.
    await usage.flush();
    expect(batches).toHaveLength(1);
  });

  it('hands the batch over on its own every flushIntervalMs, and arms no timer while idle', async () => {
    const batches: KeyUsage[][] = [];
    const { usage } = recorder({ onUsed: (batch) => void batches.push([...batch]), flushIntervalMs: 20 });
    usage.record(1);
    usage.record(1);
    for (let waited = 0; waited < 100 && batches.length === 0; waited++) await sleep(5);
    expect(batches.map((batch) => batch.map((used) => used.recordId))).toEqual([[1]]);
    await sleep(60);
    expect(batches).toHaveLength(1);
  });

  it.each<[string, UsageOptions['onUsed'], RegExp]>([
    [
      'throws synchronously',
      () => {
        throw new Error('database is locked');
      },
      /usage\.onUsed threw Error: database is locked/,
    ],
    [
      'rejects',
      () => Promise.reject(new Error('connection reset')),
      /usage\.onUsed rejected with Error: connection reset/,
    ],
  ])('keeps the batch when onUsed %s, warns once, and delivers it with the next', async (_, failing, warning) => {
    const delivered: KeyUsage[][] = [];
    let fail = true;
    const { usage, warnings, advance } = recorder({
      onUsed: (batch) => (fail ? failing(batch) : void delivered.push([...batch])),
      timeoutMs: 30,
    });
    usage.record('a');
    await usage.flush();
    advance(500);
    usage.record('b');
    await usage.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
    expect(usage.pendingKeys).toBe(2);

    fail = false;
    advance(500);
    usage.record('a');
    await usage.flush();
    expect(delivered).toEqual([
      [
        { recordId: 'a', lastUsedAt: new Date('2026-01-01T00:00:01Z') },
        { recordId: 'b', lastUsedAt: new Date('2026-01-01T00:00:00.500Z') },
      ],
    ]);
    // A new run of failures warns again, once.
    fail = true;
    usage.record('c');
    await usage.flush();
    await usage.flush();
    expect(warnings).toHaveLength(2);
  });

  it('calls onUsed once at a time while it hangs: uses are held, merged and bounded, with one warning', async () => {
    let inFlight = 0;
    let most = 0;
    const answer: Array<() => void> = [];
    const delivered: string[][] = [];
    const { usage, warnings, advance } = recorder({
      onUsed: (batch) => {
        most = Math.max(most, ++inFlight);
        delivered.push(batch.map((used) => String(used.recordId)));
        return new Promise<void>((resolve) => answer.push(() => resolve(void inFlight--)));
      },
      flushIntervalMs: 5,
      timeoutMs: 10,
      maxPendingKeys: 50,
    });
    usage.record('a');
    await usage.flush();
    // The first call hangs past its timeout; intervals, timeouts and flushes pass meanwhile.
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 20; i++) usage.record(`k${round * 20 + i}`);
      advance(1000);
      await sleep(15);
      await usage.flush();
      expect(usage.pendingKeys).toBeLessThanOrEqual(50);
    }
    expect(delivered).toEqual([['a']]);
    expect(most).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/usage\.onUsed took longer than 10 ms \(no batch is sent until it answers\)/);

    // It answers at last: what was held goes out in one call, the given-up batch merged in.
    answer[0]!();
    for (let waited = 0; waited < 100 && delivered.length < 2; waited++) await sleep(5);
    expect(delivered).toHaveLength(2);
    expect(delivered[1]).toHaveLength(50);
    expect(delivered[1]).toContain('a');
    expect(most).toBe(1);
    answer[1]!();
    await usage.flush();
    expect(warnings).toHaveLength(1);
  });

  it('never lets a late rejection of a batch given up on go unhandled', async () => {
    const { usage } = recorder({
      onUsed: () => sleep(40).then(() => Promise.reject(new Error('late'))),
      timeoutMs: 10,
    });
    usage.record('a');
    await usage.flush();
    await sleep(60);
    expect(unhandled).toEqual([]);
  });

  it('keeps at most maxPendingKeys keys; past it hands the batch over at once, then drops and warns once', async () => {
    let release: () => void = () => {};
    const batches: KeyUsage[][] = [];
    const { usage, warnings } = recorder({
      onUsed: (batch) => {
        batches.push([...batch]);
        return batches.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : undefined;
      },
      maxPendingKeys: 3,
    });
    for (const id of ['a', 'b', 'c', 'd']) usage.record(id);
    expect(usage.pendingKeys).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches.map((batch) => batch.length)).toEqual([3]);
    // The store is still busy: new keys fill the next batch, then are dropped, with one warning.
    for (const id of ['e', 'f', 'g', 'h', 'i']) usage.record(id);
    expect(usage.pendingKeys).toBe(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/more than 3 keys used since the last batch/);
    release();
    await usage.flush();
    expect(batches.map((batch) => batch.map((used) => used.recordId))).toEqual([
      ['a', 'b', 'c'],
      ['e', 'f', 'g'],
    ]);
  });

  it('a flush during a batch under way waits for it and then sends what came after', async () => {
    let release: () => void = () => {};
    const batches: string[][] = [];
    const { usage } = recorder({
      onUsed: (batch) => {
        batches.push(batch.map((used) => String(used.recordId)));
        return batches.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : undefined;
      },
    });
    usage.record('a');
    const first = usage.flush();
    usage.record('b');
    const second = usage.flush();
    expect(batches).toEqual([['a']]);
    release();
    await Promise.all([first, second]);
    expect(batches).toEqual([['a'], ['b']]);
  });
});

describe('usage option', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', 'yes', /`usage` must be an object/],
    ['no onUsed', {}, /`usage\.onUsed` must be a function/],
    [
      'an unknown field',
      { onUsed() {}, flushInterval: 5 },
      /unknown option `usage\.flushInterval`.*`usage\.flushIntervalMs`/,
    ],
    [
      'a zero interval',
      { onUsed() {}, flushIntervalMs: 0 },
      /`usage\.flushIntervalMs` must be a number of milliseconds above 0 and at most 2147483647; got 0\./,
    ],
    [
      'an interval past the longest timer',
      { onUsed() {}, flushIntervalMs: 2 ** 31 },
      /at most 2147483647; got 2147483648/,
    ],
    [
      'a NaN timeout',
      { onUsed() {}, timeoutMs: Number.NaN },
      /`usage\.timeoutMs` must be a number of milliseconds above 0/,
    ],
    ['a fractional bound', { onUsed() {}, maxPendingKeys: 1.5 }, /`usage\.maxPendingKeys` must be a whole number/],
    ['a logger without warn', { onUsed() {}, logger: {} }, /`usage\.logger` must have a `warn\(message\)` method/],
  ])('is refused at start-up when %s', (_, usage, message) => {
    const attempt = () => new Keyring({ lookup: { findKey: async () => null }, usage: usage as UsageOptions });
    expect(attempt).toThrow(KeyringConfigError);
    expect(attempt).toThrow(message);
  });
});

describe('Keyring with usage', () => {
  const production = generateApiKey();
  const record: ApiKeyRecord = { id: 'key_1', tenants: [{ id: 1 }], environment: 'production' };

  it('notes admitted requests only, whether answered from the store or the cache', async () => {
    const batches: KeyUsage[][] = [];
    const keyring = new Keyring({
      lookup: { findKey: async (key) => (key === production.key ? record : null) },
      usage: { onUsed: (batch) => void batches.push([...batch]) },
    });
    const bearer = { authorization: `Bearer ${production.key}` };
    expect((await keyring.admit(bearer)).ok).toBe(true);
    expect((await keyring.admit(bearer)).ok).toBe(true);
    // Refused: another tenant, an unknown key, no key.
    expect((await keyring.admit({ ...bearer, 'x-tenant-id': '2' })).ok).toBe(false);
    expect((await keyring.admit({ authorization: `Bearer ${generateApiKey().key}` })).ok).toBe(false);
    expect((await keyring.admit({})).ok).toBe(false);
    await keyring.flushUsage();
    expect(batches.map((batch) => batch.map((used) => used.recordId))).toEqual([['key_1']]);
  });

  it('flushUsage does nothing without usage', async () => {
    await expect(new Keyring({ lookup: { findKey: async () => null } }).flushUsage()).resolves.toBeUndefined();
  });
});

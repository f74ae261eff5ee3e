import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryInvalidationBus } from '../../../fixtures/memory-invalidation-bus.js';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { generateApiKey } from '../../../../lib/core/keys/api-key-generator.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { invalidationKeyHash, type InvalidationBus } from '../../../../lib/core/fleet/invalidation-bus.js';
import { Keyring, type KeyringRuntime } from '../../../../lib/core/keyring.js';
import type { KeyringOptions } from '../../../../lib/core/options/keyring-options.js';

/** One key store shared by the replicas, as a database would be. */
function sharedStore() {
  const records = new Map<string, ApiKeyRecord>();
  const calls: string[] = [];
  const issue = (id: string) => {
    const { key } = generateApiKey({ environment: 'production' });
    records.set(key, { id, tenants: [{ id: 1 }] });
    return key;
  };
  const revoke = (key: string) => records.set(key, { ...records.get(key)!, revoked: true });
  const lookup = {
    findKey: async (key: string) => {
      calls.push(key);
      return records.get(key) ?? null;
    },
  };
  return { records, calls, issue, revoke, lookup };
}

function recordingLogger() {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, logger: { warn: (m: string) => warnings.push(m), log: (m: string) => infos.push(m) } };
}

const headersOf = (key: string) => ({ 'x-api-key': key });

async function status(keyring: Keyring, key: string): Promise<string> {
  const result = await keyring.authenticate(headersOf(key));
  return result.ok ? 'ok' : result.failure.reason;
}

function replicas(
  bus: InvalidationBus,
  options: Partial<KeyringOptions> = {},
  runtime: KeyringRuntime = { logger: recordingLogger().logger },
) {
  const store = sharedStore();
  const a = new Keyring({ lookup: store.lookup, ...options, invalidationBus: bus }, runtime);
  const b = new Keyring({ lookup: store.lookup, ...options, invalidationBus: bus }, runtime);
  return { store, a, b };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('Keyring with an invalidation bus', () => {
  it('a record invalidated in one replica is looked up again in the other', async () => {
    const { store, a, b } = replicas(new MemoryInvalidationBus());
    const key = store.issue('rec-1');
    expect(await status(b, key)).toBe('ok');
    store.revoke(key);
    expect(await status(b, key)).toBe('ok'); // cached
    a.invalidateRecord('rec-1');
    expect(await status(b, key)).toBe('revoked');
  });

  it("closes the other replica's open connections of a key revoked in one, by record, by key or all", async () => {
    const { store, a, b } = replicas(new MemoryInvalidationBus());
    const keys = ['rec-a', 'rec-b', 'rec-c'].map((id) => store.issue(id));
    const closed: string[] = [];
    for (const [index, key] of keys.entries()) {
      const admitted = await b.admit(headersOf(key));
      if (!admitted.ok) throw new Error('refused');
      b.connections.add(admitted.record, admitted.tenant, headersOf(key), {
        close: (failure) => closed.push(`${index}:${failure.reason}`),
        update: () => undefined,
      });
    }
    const settled = () => new Promise((resolve) => setImmediate(resolve));
    for (const key of keys) store.revoke(key);
    a.invalidateRecord('rec-a');
    await settled();
    expect(closed).toEqual(['0:revoked']);
    a.invalidateKey(keys[1]!);
    await settled();
    expect(closed).toEqual(['0:revoked', '1:revoked']);
    a.clearCache();
    await settled();
    expect(closed).toEqual(['0:revoked', '1:revoked', '2:revoked']);
    expect(b.connections.size).toBe(0);
  });

  it('checks every open connection again once the bus is back: a revocation sent meanwhile may be lost', async () => {
    const bus = new MemoryInvalidationBus();
    const { store, b } = replicas(bus);
    const key = store.issue('rec-d');
    const admitted = await b.admit(headersOf(key));
    if (!admitted.ok) throw new Error('refused');
    const closed: string[] = [];
    b.connections.add(admitted.record, admitted.tenant, headersOf(key), {
      close: (failure) => closed.push(failure.reason),
      update: () => undefined,
    });
    bus.disconnect();
    store.revoke(key);
    bus.reconnect();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toEqual(['revoked']);
  });

  it('a key invalidated in one replica travels as a hash, never in clear, and is forgotten in the other', async () => {
    const bus = new MemoryInvalidationBus();
    const { store, a, b } = replicas(bus);
    const key = store.issue('rec-2');
    expect(await status(b, key)).toBe('ok');
    store.revoke(key);
    a.invalidateKey(key);
    expect(await status(b, key)).toBe('revoked');
    expect(bus.sent).toHaveLength(1);
    expect(bus.sent[0]).toMatchObject({ type: 'key', keyHash: invalidationKeyHash(key) });
    expect(JSON.stringify(bus.sent)).not.toContain(key);
    expect(JSON.stringify(bus.sent)).not.toContain(key.slice(3, 20));
  });

  it('clearCache in one replica clears every replica; the sender applies its own message once', async () => {
    const bus = new MemoryInvalidationBus();
    const { store, a, b } = replicas(bus);
    const key = store.issue('rec-3');
    await status(a, key);
    await status(b, key);
    expect(b.cacheSize).toBe(1);
    a.clearCache();
    expect(a.cacheSize).toBe(0);
    expect(b.cacheSize).toBe(0);
    expect(bus.sent).toEqual([{ type: 'all', origin: expect.any(String) }]);
  });

  it('a message received never goes out again (no echo between replicas)', async () => {
    const bus = new MemoryInvalidationBus();
    const { a } = replicas(bus);
    a.invalidateRecord('rec-4');
    a.invalidateRecord(42);
    expect(bus.sent.map((message) => message.type === 'record' && message.recordId)).toEqual(['rec-4', '42']);
  });

  it('a lookup in flight in the other replica when the invalidation arrives is not cached', async () => {
    const bus = new MemoryInvalidationBus();
    const { store, a, b } = replicas(bus);
    const key = store.issue('rec-5');
    const pending = b.authenticate(headersOf(key)); // the store is asked, answer not back yet
    a.invalidateKey(key);
    expect(await pending).toMatchObject({ ok: true });
    expect(b.cacheSize).toBe(0);
  });

  it('a message this version cannot read clears the cache (never keeps a revoked key)', async () => {
    const bus = new MemoryInvalidationBus();
    const { store, b } = replicas(bus);
    await status(b, store.issue('rec-6'));
    bus.publish({ type: 'something-new', origin: 'elsewhere' } as never);
    expect(b.cacheSize).toBe(0);
  });
});

describe('Keyring with an invalidation bus that goes down', () => {
  function clock(start = 1_000_000) {
    let now = start;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    return { advance: (ms: number) => (now += ms) };
  }

  it('serves entries cached before the outage for at most ttlWhileDisconnectedMs after their lookup', async () => {
    const time = clock();
    const bus = new MemoryInvalidationBus({ ttlWhileDisconnectedMs: 1_000 });
    const { store, b } = replicas(bus, { cache: { ttlMs: 30_000 } });
    const key = store.issue('rec-7');
    await status(b, key);
    time.advance(600);
    bus.disconnect();
    store.revoke(key); // and the message that says so is lost
    expect(await status(b, key)).toBe('ok'); // 600 ms after its lookup
    time.advance(399);
    expect(await status(b, key)).toBe('ok'); // 999 ms
    time.advance(1);
    expect(await status(b, key)).toBe('revoked'); // 1000 ms: looked up again
  });

  it('entries cached during the outage respect the same bound; the bus coming back clears the cache', async () => {
    const time = clock();
    const bus = new MemoryInvalidationBus({ ttlWhileDisconnectedMs: 1_000 });
    const { store, b } = replicas(bus, { cache: { ttlMs: 30_000 } });
    const key = store.issue('rec-8');
    bus.disconnect();
    await status(b, key);
    const lookups = store.calls.length;
    time.advance(999);
    await status(b, key);
    expect(store.calls.length).toBe(lookups);
    time.advance(1);
    await status(b, key);
    expect(store.calls.length).toBe(lookups + 1);
    bus.reconnect();
    expect(b.cacheSize).toBe(0);
    // Connected again: the TTL alone bounds an entry.
    await status(b, key);
    time.advance(10_000);
    await status(b, key);
    expect(store.calls.length).toBe(lookups + 2);
  });

  it('without ttlWhileDisconnectedMs, an outage keeps the TTL', async () => {
    const time = clock();
    const bus = new MemoryInvalidationBus();
    const { store, b } = replicas(bus, { cache: { ttlMs: 5_000 } });
    const key = store.issue('rec-9');
    await status(b, key);
    bus.disconnect();
    store.revoke(key);
    time.advance(4_999);
    expect(await status(b, key)).toBe('ok');
    time.advance(1);
    expect(await status(b, key)).toBe('revoked');
  });

  it('a bus not connected yet when the Keyring starts bounds the cache at once, without a warning', async () => {
    const time = clock();
    const { warnings, logger } = recordingLogger();
    const bus = new MemoryInvalidationBus({ connected: false, ttlWhileDisconnectedMs: 500 });
    const { store, b } = replicas(bus, { cache: { ttlMs: 30_000 } }, { logger });
    const key = store.issue('rec-10');
    await status(b, key);
    time.advance(500);
    await status(b, key);
    expect(store.calls).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it('warns once per outage, whatever the number of reports and requests, and says when it is over', async () => {
    const { warnings, infos, logger } = recordingLogger();
    const bus = new MemoryInvalidationBus({ ttlWhileDisconnectedMs: 2_000 });
    const { store, a, b } = replicas(bus, {}, { logger });
    const key = store.issue('rec-11');
    bus.disconnect(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    bus.disconnect(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    for (let i = 0; i < 20; i++) await status(b, key);
    // Two replicas in this process: one warning each.
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe(
      'invalidation bus disconnected (connect ECONNREFUSED 127.0.0.1:6379); revocations from other replicas ' +
        'may be missed: cached keys are served for at most 2000 ms after their lookup, and the cache is cleared ' +
        'when the bus reconnects',
    );
    bus.reconnect();
    expect(infos).toEqual(['invalidation bus reconnected; lookup cache cleared', expect.any(String)]);
    bus.disconnect();
    expect(warnings).toHaveLength(4);
    a.close();
    b.close();
    expect(bus.subscriberCount).toBe(0);
  });
});

describe('outage reports without a logger of the host', () => {
  it('go to the console, once per outage, named for the package', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const bus = new MemoryInvalidationBus();
    new Keyring({ lookup: sharedStore().lookup, invalidationBus: bus });
    bus.disconnect(new Error('socket closed'));
    bus.disconnect(new Error('socket closed'));
    expect(warn.mock.calls).toEqual([
      [expect.stringMatching(/^\[nest-keyring\] invalidation bus disconnected \(socket closed\)/)],
    ]);
    bus.reconnect();
    expect(log.mock.calls).toEqual([['[nest-keyring] invalidation bus reconnected; lookup cache cleared']]);
  });
});

describe('Keyring with a faulty invalidation bus', () => {
  function faultyBus(publish: InvalidationBus['publish']): InvalidationBus {
    return { connected: true, publish, subscribe: () => () => undefined };
  }

  it.each([
    [
      'throws',
      () => {
        throw new Error('publish failed');
      },
      1,
    ],
    ['rejects', () => Promise.reject(new Error('publish failed')), 1],
    ['never answers', () => new Promise<void>(() => undefined), 0],
  ])('invalidates here at once, without throwing or waiting, when publish %s', async (_, publish, warned) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { warnings, logger } = recordingLogger();
      const store = sharedStore();
      const keyring = new Keyring({ lookup: store.lookup, invalidationBus: faultyBus(publish) }, { logger });
      const key = store.issue('rec-12');
      await status(keyring, key);
      store.revoke(key);
      const returned = [
        keyring.invalidateRecord('rec-12'),
        keyring.invalidateKey(key),
        keyring.clearCache(),
      ] as unknown[];
      expect(returned).toEqual([undefined, undefined, undefined]); // nothing to await
      expect(await status(keyring, key)).toBe('revoked');
      await new Promise((resolve) => setImmediate(resolve));
      // Three failed publishes, one warning.
      expect(warnings).toHaveLength(warned);
      if (warned === 1) expect(warnings[0]).toMatch(/^an invalidation could not be published \(publish failed\)/);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a bus whose subscribe throws leaves the app working, bounded as in an outage, with one warning', async () => {
    const { warnings, logger } = recordingLogger();
    const store = sharedStore();
    const bus: InvalidationBus = {
      connected: false,
      ttlWhileDisconnectedMs: 0,
      publish: () => undefined,
      subscribe: () => {
        throw new Error('no channel');
      },
    };
    const keyring = new Keyring({ lookup: store.lookup, invalidationBus: bus }, { logger });
    const key = store.issue('rec-13');
    expect(await status(keyring, key)).toBe('ok');
    expect(await status(keyring, key)).toBe('ok');
    expect(store.calls).toHaveLength(2); // served from the store, not the cache
    expect(warnings).toHaveLength(1);
  });
});

describe('the invalidationBus option', () => {
  const lookup = { findKey: async () => null };

  it('needs the cache', () => {
    expect(() => new Keyring({ lookup, cache: false, invalidationBus: new MemoryInvalidationBus() })).toThrow(
      new KeyringConfigError('`invalidationBus` has nothing to invalidate with `cache: false`: remove one of them.'),
    );
  });

  it('must be a bus', () => {
    expect(() => new Keyring({ lookup, invalidationBus: { publish() {} } as never })).toThrow(KeyringConfigError);
    expect(() => new Keyring({ lookup, invalidationBus: 'redis://localhost' as never })).toThrow(
      /`invalidationBus` must be an object with `publish\(message\)` and `subscribe\(subscriber\)`/,
    );
  });

  it('refuses a ttlWhileDisconnectedMs that is not a duration', () => {
    for (const ttl of [-1, Number.NaN, '5s', 1e16, Number.MAX_SAFE_INTEGER]) {
      const bus = new MemoryInvalidationBus({ ttlWhileDisconnectedMs: ttl as number });
      expect(() => new Keyring({ lookup, invalidationBus: bus })).toThrow(
        '`ttlWhileDisconnectedMs` must be a number of milliseconds, 0 or more, ' +
          `and at most 2147483647; got ${String(ttl)}.`,
      );
    }
  });
});

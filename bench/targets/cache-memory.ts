// Memory held by a Keyring's lookup cache at its default bound, full of found keys. Run by
// bench/run.mjs as `node --expose-gc bench/dist/cache-memory.js`; prints one JSON line.
//
// Two cases, each on a fresh Keyring with the default cache (10,000 entries):
//   shared: the lookup returns the records the store already holds (in-memory map), so the
//           heap grows only by the cache's own bookkeeping (HMAC ids, entries, LRU map, id index);
//   owned:  the lookup returns a fresh record per call (as a database driver does), so the
//           records themselves are held only by the cache and count too.
import { generateApiKey, hashApiKey, Keyring, type ApiKeyLookup, type ApiKeyRecord } from 'nest-keyring';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

// The cache's default `maxEntries`.
const N = 10_000;
const keys = Array.from({ length: N }, () => generateApiKey({ environment: 'production' }));
const records = new Map<string, ApiKeyRecord>(
  keys.map(({ hash }, i) => [
    hash,
    {
      id: `key_${i}`,
      environment: 'production',
      scopes: ['messages:send', 'messages:read'],
      tenants: [
        { id: 123, name: 'Acme Trading' },
        { id: 456, name: 'Globex Retail' },
      ],
    },
  ]),
);
const lookups: Record<'shared' | 'owned', ApiKeyLookup> = {
  shared: { findKey: async (key) => records.get(hashApiKey(key)) ?? null },
  owned: {
    findKey: async (key) => {
      const record = records.get(hashApiKey(key));
      return record ? structuredClone(record) : null;
    },
  },
};

async function fill(keyring: Keyring, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const result = await keyring.authenticate({ authorization: `Bearer ${keys[i]!.key}` });
    if (!result.ok) throw new Error(`key ${i} refused: ${result.failure.reason}`);
  }
}

const out: Record<string, unknown> = { entries: N };
for (const kind of ['shared', 'owned'] as const) {
  let keyring: Keyring | undefined = new Keyring({ lookup: lookups[kind] });
  // Warm the code path, then start from an empty cache.
  await fill(keyring, 0, 100);
  keyring.clearCache();
  const before = heapAfterGc();
  await fill(keyring, 0, N);
  const after = heapAfterGc();
  if (keyring.cacheSize !== N) throw new Error(`cache holds ${keyring.cacheSize} keys, expected ${N}`);
  out[kind] = { bytes: after - before, mb: (after - before) / 2 ** 20, bytesPerEntry: (after - before) / N };
  // Drop the last reference before the next kind is measured.
  // eslint-disable-next-line no-useless-assignment
  keyring = undefined;
}

// The bound holds: 2N distinct keys through one keyring leave N entries and no more memory.
{
  const more = Array.from({ length: N }, () => generateApiKey({ environment: 'production' }));
  for (const { hash } of more)
    records.set(hash, { id: `more_${hash.slice(0, 8)}`, environment: 'production', tenants: [{ id: 1 }] });
  const keyring = new Keyring({ lookup: lookups.shared });
  await fill(keyring, 0, N);
  const full = heapAfterGc();
  for (const { key } of more) {
    const result = await keyring.authenticate({ authorization: `Bearer ${key}` });
    if (!result.ok) throw new Error(`extra key refused: ${result.failure.reason}`);
  }
  const after = heapAfterGc();
  out.bound = { sizeAfter2N: keyring.cacheSize, growthMb: (after - full) / 2 ** 20 };
}

process.stdout.write(JSON.stringify(out) + '\n');

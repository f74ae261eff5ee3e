// Shared by the bench hosts (nest-app.ts, express-app.ts): the response body, the keys and their
// records, the in-memory lookup, and how a host talks to the runner over IPC (its port and rows
// once listening; its own CPU time whenever asked, so the runner reads it to the microsecond
// without a request that would itself cost CPU).
import { createHash } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import { generateApiKey, hashApiKey, Keyring, type ApiKeyLookup, type ApiKeyRecord } from 'nest-keyring';

/** What every measured handler answers. */
export const BODY = { success: true, data: { status: 'ok' } };

/** Loopback only. */
export const HOST = '127.0.0.1';

/** The header every request carries; tenancy picks tenant 456 from it. */
export const TENANT = '456';

/**
 * One measured row: a path and the key to send there. `status` is what every request must get
 * (401 for a forged key); `limited` rows must answer a `RateLimit` header that counts down.
 */
export interface Row {
  id: string;
  name: string;
  path: string;
  key?: string;
  /** Many keys, sent in turn (one per request) instead of `key`, which is then the first. */
  keys?: string[];
  status: number;
  guarded: boolean;
  limited?: boolean;
}

// Rate-limited keys carry their own limit, far above what a run sends; the window's length says
// which store counts them (see limitStore in nest-app.ts).
export const LIMIT = 1_000_000_000;
export const WINDOW = { memory: 3_600_000, redisOwn: 3_600_001, redisApp: 3_600_002, redisTimer: 3_600_003 } as const;

const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';

/**
 * Whether this build signs keys (`signingSecrets`, `generateApiKey({ signingSecret })`): only then
 * is a forged key refused by its tag, and only then is the forged-key row measured.
 */
export function signingSecrets(): string[] | undefined {
  try {
    new Keyring({ lookup: { findKey: () => null }, signingSecrets: [SIGNING_SECRET] } as never);
  } catch {
    return undefined;
  }
  const signed = generateApiKey({ signingSecret: SIGNING_SECRET } as never).key;
  return signed.length !== generateApiKey().key.length ? [SIGNING_SECRET] : undefined;
}

/** A key made as an app makes them (signed when `signing` is on), and its hash. */
export function newKey(signing: boolean) {
  return generateApiKey(signing ? ({ signingSecret: SIGNING_SECRET } as never) : {});
}

/** A key of the right form, checksum included, signed with a secret the app does not have. */
export function forgedKey(): string {
  return generateApiKey({ signingSecret: `${SIGNING_SECRET}-forged` } as never).key;
}

/** The record of every bench key; `rateLimit` set for the limited ones. */
export function record(id: string, windowMs?: number): ApiKeyRecord {
  return {
    id,
    environment: 'production',
    scopes: ['messages:send', 'messages:read'],
    tenants: [
      { id: 123, name: 'Acme Trading' },
      { id: 456, name: 'Globex Retail' },
    ],
    expiresAt: null,
    revoked: false,
    ...(windowMs === undefined ? {} : { rateLimit: { limit: LIMIT, windowMs } }),
  };
}

/**
 * What a hand-written guard or middleware keeps: its records by SHA-256 of the key (hex), and
 * the lookup of a presented key, `undefined` when unknown.
 */
export function handWrittenLookup(key: string): (presented: string) => ApiKeyRecord | undefined {
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
  const records = new Map([[sha256(key), record('key_bench')]]);
  return (presented) => records.get(sha256(presented));
}

/** The README's in-memory lookup: hash the key, read the map; `calls` counts what reaches it. */
export function inMemoryLookup(records: Map<string, ApiKeyRecord>): ApiKeyLookup & { calls: number } {
  const lookup = {
    calls: 0,
    findKey: async (key: string) => {
      lookup.calls++;
      return records.get(hashApiKey(key)) ?? null;
    },
  };
  return lookup;
}

/**
 * Tells the runner the port and the rows, answers its CPU readings, and exits when the runner
 * goes away (no host outlives a crashed runner).
 */
export function announce(server: Server, rows: Row[], extra: () => Record<string, unknown> = () => ({})): void {
  const { port } = server.address() as AddressInfo;
  if (!process.send) throw new Error('bench hosts are started by bench/run.mjs (no IPC channel)');
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'cpu')
      process.send!({
        type: 'cpu',
        usage: process.cpuUsage(),
        // The clock of V8's CPU profiles (CLOCK_MONOTONIC, µs): the runner cuts a profile by it.
        hrtimeUs: Number(process.hrtime.bigint() / 1000n),
        ...extra(),
      });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.send({ type: 'ready', port, rows, pid: process.pid });
}

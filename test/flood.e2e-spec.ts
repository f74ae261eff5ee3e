import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKeyCache, ApiKeyModule, generateApiKey, Keyring, type KeyringOptions } from '../lib/index.js';
import { type KeyringIncomingMessage } from '../lib/express.js';
import { apiKeyMiddleware } from '../lib/express.js';
import { DelayedStore } from './fixtures/in-memory-lookup.js';
import { MeController } from './fixtures/me-controller.js';
import { createTestApp } from './fixtures/test-app.js';

// Forged keys (valid checksum, unknown to the store) arrive from several loopback addresses,
// while valid keys are used for the first time and after their cache entries expire, from
// other addresses and from the flooding ones. Small budgets and TTLs: each case takes about a second.

const TTL_MS = 300;
const OPTIONS = {
  unknownKeyLookups: { perSecond: 20, burst: 20, perClientPerSecond: 5, perClientBurst: 10 },
  cache: { ttlMs: TTL_MS, staleIfThrottledMs: 10_000 },
} satisfies Partial<KeyringOptions>;

interface Server {
  url: URL;
  /** The key ids handlers ran for: only a handler answers a key's id. */
  handled: string[];
  logged: string[];
  invalidateRecord(id: string): void;
  close(): Promise<void>;
}

type HostName = 'nest-express' | 'nest-fastify' | 'express';

async function start(host: HostName, store: DelayedStore, extra: Partial<KeyringOptions> = {}): Promise<Server> {
  const options: KeyringOptions = { lookup: store, ...OPTIONS, ...extra };
  if (host === 'express') {
    const keyring = new Keyring(options);
    const logged: string[] = [];
    const app = express();
    const logger = { error: (line: string) => logged.push(line) };
    app.get('/me', apiKeyMiddleware(keyring, { logger }), (request, response) => {
      response.json({ id: (request as KeyringIncomingMessage).apiKey?.id });
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/me`),
      handled: [],
      logged,
      invalidateRecord: (id) => keyring.invalidateRecord(id),
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  const test = await createTestApp(host === 'nest-express' ? 'express' : 'fastify', {
    imports: [ApiKeyModule.forRoot(options)],
    controllers: [MeController],
  });
  await test.app.listen(0, '127.0.0.1');
  return {
    url: new URL('/me', await test.app.getUrl()),
    handled: [],
    logged: test.logger.lines,
    invalidateRecord: (id) => test.app.get(ApiKeyCache).invalidateRecord(id),
    close: () => test.close(),
  };
}

interface Answer {
  status: number;
  code: string | undefined;
  id: string | undefined;
  retryAfter: string | undefined;
}

// One keep-alive agent per source address, a few sockets each.
const agents = new Map<string, http.Agent>();
function agentFor(address: string): http.Agent {
  let agent = agents.get(address);
  if (agent === undefined) agents.set(address, (agent = new http.Agent({ keepAlive: true, maxSockets: 4 })));
  return agent;
}

/** GET /me from `from` (a 127.0.0.x address) with `key`. */
function get(server: Server, from: string, key: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: server.url.port,
        path: server.url.pathname,
        localAddress: from,
        agent: agentFor(from),
        headers: { 'x-api-key': key, ...headers },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const parsed = JSON.parse(body) as { id?: string; error?: { code: string } };
          if (response.statusCode === 200 && parsed.id !== undefined) server.handled.push(parsed.id);
          resolve({
            status: response.statusCode ?? 0,
            code: parsed.error?.code,
            id: parsed.id,
            retryAfter: response.headers['retry-after'] as string | undefined,
          });
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/**
 * Sends forged keys from each address, 4 at a time, until `stop()`; every answer is kept by
 * address. Each request also carries a made-up `X-Forwarded-For`, which must change nothing.
 */
function flood(server: Server, from: readonly string[]) {
  const answers = new Map<string, Answer[]>(from.map((address) => [address, []]));
  let flooding = true;
  let forged = 0;
  const loops = from.flatMap((address) =>
    Array.from({ length: 4 }, async () => {
      while (flooding) {
        const spoofed = `198.51.100.${forged++ % 250}`;
        answers.get(address)!.push(await get(server, address, generateApiKey().key, { 'x-forwarded-for': spoofed }));
      }
    }),
  );
  return {
    answers,
    /** Resolves once every address has been answered 503 at least once. */
    async throttled(): Promise<void> {
      const deadline = Date.now() + 5000;
      while ([...answers.values()].some((list) => !list.some((answer) => answer.status === 503))) {
        if (Date.now() > deadline) throw new Error('the flood never spent the per-client budgets');
        await sleep(10);
      }
    },
    async stop(): Promise<void> {
      flooding = false;
      await Promise.all(loops);
    },
  };
}

const HOSTS: HostName[] = ['nest-express', 'nest-fastify', 'express'];
const FLOODERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

describe.each(HOSTS)('a flood of forged keys on %s', (host) => {
  let server: Server | undefined;
  afterEach(async () => {
    for (const agent of agents.values()) agent.destroy();
    agents.clear();
    await server?.close();
    server = undefined;
  });

  it('never makes a valid key fail: first use, expired entries, and revocation still apply at once', async () => {
    const store = new DelayedStore(2);
    server = await start(host, store);
    const expiring = store.issue('expiring');
    const expiringNat = store.issue('expiring-nat');
    const revoked = store.issue('revoked');
    for (const key of [expiring, expiringNat, revoked]) expect((await get(server, '127.0.0.9', key)).status).toBe(200);
    const primedAt = Date.now();

    const attack = flood(server, FLOODERS);
    try {
      await attack.throttled();
      await sleep(Math.max(0, primedAt + TTL_MS + 20 - Date.now()));
      const callsBefore = store.calls.length;
      store.records.set(revoked, { id: 'revoked', tenants: [{ id: 1 }], revoked: true });
      server.invalidateRecord('revoked');
      const firstUse = [store.issue('first-6'), store.issue('first-7')];
      const answers = await Promise.all([
        // Valid keys used for the first time, by clients that sent no forged key.
        get(server, '127.0.0.6', firstUse[0]!),
        get(server, '127.0.0.7', firstUse[1]!),
        // A valid key whose entry expired, from a client that sent no forged key: looked up.
        get(server, '127.0.0.8', expiring),
        // A valid key whose entry expired, from a flooding address (a shared NAT): its refresh
        // is throttled, and its last verdict is served.
        get(server, '127.0.0.2', expiringNat),
        // The revoked key, from a flooding address: never its old verdict.
        get(server, '127.0.0.3', revoked),
      ]);
      expect(answers.map(({ status, id }) => ({ status, id }))).toEqual([
        { status: 200, id: 'first-6' },
        { status: 200, id: 'first-7' },
        { status: 200, id: 'expiring' },
        { status: 200, id: 'expiring-nat' },
        { status: 503, id: undefined },
      ]);
      expect(answers[4]!.code).toBe('KEY_STORE_UNAVAILABLE');
      // Looked up from a client with budget left, the revoked key is refused.
      const refused = await get(server, '127.0.0.9', revoked);
      expect({ status: refused.status, code: refused.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
      const asked = store.calls.slice(callsBefore);
      expect(asked).toEqual(expect.arrayContaining([...firstUse, expiring, revoked]));
      expect(asked).not.toContain(expiringNat);
    } finally {
      await attack.stop();
    }
    // Every valid request ran its handler; the revoked key's never after its revocation.
    expect(server.handled.filter((id) => id === 'revoked')).toEqual(['revoked']);
    expect(server.handled).toEqual(expect.arrayContaining(['first-6', 'first-7', 'expiring', 'expiring-nat']));
    // Each flooding address was answered 503 once its own budget was spent; forged keys never 200.
    for (const address of FLOODERS) {
      const answered = attack.answers.get(address)!;
      expect(new Set(answered.map(({ status, code }) => `${status} ${code}`))).toEqual(
        new Set(['401 INVALID_API_KEY', '503 KEY_STORE_UNAVAILABLE']),
      );
      expect(answered.filter(({ status }) => status === 503).every(({ retryAfter }) => retryAfter === '1')).toBe(true);
      expect(answered.filter(({ status }) => status === 401).length).toBeLessThan(answered.length / 2);
    }
    // The throttling is logged once, not per refused request.
    expect(server.logged.filter((line) => /API key lookups throttled/.test(line))).toHaveLength(1);
  });

  it('counts clients behind a trusted proxy by X-Forwarded-For, and only there', async () => {
    const store = new DelayedStore(2);
    server = await start(host, store, { trustedProxies: ['127.0.0.10'] });
    // One client floods through the proxy; the proxy appends the address it saw.
    const attack = { forged: 0, answers: [] as Answer[] };
    while (!attack.answers.some(({ status }) => status === 503) && attack.forged < 200) {
      attack.forged++;
      attack.answers.push(
        await get(server, '127.0.0.10', generateApiKey().key, { 'x-forwarded-for': '203.0.113.1, 198.51.100.1' }),
      );
    }
    expect(attack.answers.at(-1)).toMatchObject({ status: 503, code: 'KEY_STORE_UNAVAILABLE' });
    // Another client through the same proxy: its own budget.
    const key = store.issue('behind-proxy');
    const granted = await get(server, '127.0.0.10', key, { 'x-forwarded-for': '198.51.100.2' });
    expect({ status: granted.status, id: granted.id }).toEqual({ status: 200, id: 'behind-proxy' });
    // The flooding client, whatever it writes to the left of the proxy's hop.
    const blocked = await get(server, '127.0.0.10', store.issue('x'), {
      'x-forwarded-for': '198.51.100.77, 198.51.100.1',
    });
    expect(blocked).toMatchObject({ status: 503, code: 'KEY_STORE_UNAVAILABLE' });
    // Not a proxy: its X-Forwarded-For is not believed, so it cannot pose as a flooded client.
    const direct = await get(server, '127.0.0.11', store.issue('direct'), { 'x-forwarded-for': '198.51.100.1' });
    expect({ status: direct.status, id: direct.id }).toEqual({ status: 200, id: 'direct' });
  });
});

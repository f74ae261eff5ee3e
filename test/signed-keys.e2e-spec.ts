import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import express from 'express';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { checksumOf, randomBase62 } from '../lib/core/keys/api-key-checksum.js';
import { ApiKeyAuth, ApiKeyModule, generateApiKey, Keyring, type KeyringOptions } from '../lib/index.js';
import { apiKeyMiddleware, tenantMiddleware } from '../lib/express.js';
import { InMemoryLookup } from './fixtures/in-memory-lookup.js';
import { createTestApp, HandlerLog, hostOf, listeningHost, type Host as TestHost } from './fixtures/test-app.js';

// Signed keys through HTTP: a key whose tag does not verify is refused before the cache, the
// unknown-key budget and the store; rotation keeps both secrets' keys working, then only the new one's.

const OLD_SECRET = 'old-signing-secret-for-e2e-0123456789abc';
const NEW_SECRET = 'new-signing-secret-for-e2e-0123456789abc';
const oldKey = generateApiKey({ signingSecret: OLD_SECRET }).key;
const newKey = generateApiKey({ signingSecret: NEW_SECRET }).key;
const unsignedKey = generateApiKey().key;

/** A key in the signed form with a made-up tag and a valid checksum: anyone can make one. */
function forged(): string {
  const body = `pk_${randomBase62(32, randomBytes)}_${randomBase62(24, randomBytes)}`;
  return body + checksumOf(body);
}

const INVALID = { success: false, error: { code: 'INVALID_API_KEY', message: expect.any(String) } };

/** A host, and the keys its store was asked about. */
interface Host extends TestHost {
  storeCalls: string[];
}

type HostName = 'nest-express' | 'nest-fastify' | 'express';

@Controller()
class MeController {
  constructor(private readonly handlers: HandlerLog) {}

  @ApiKeyAuth()
  @Get('me')
  me() {
    this.handlers.ran('me');
    return { ok: true };
  }
}

async function startHost(name: HostName, signingSecrets: string[]): Promise<Host> {
  const lookup = new InMemoryLookup(
    Object.fromEntries(
      [oldKey, newKey, unsignedKey].map((key, index) => [key, { id: `key_${index}`, tenants: [{ id: 1 }] }]),
    ),
  );
  // A budget that one unknown key would spend: a forged key that reached it would lock fresh keys out.
  const options: KeyringOptions = { lookup, signingSecrets, unknownKeyLookups: { perSecond: 1, burst: 1 } };
  if (name === 'express') {
    const keyring = new Keyring(options);
    const handlers: string[] = [];
    const logs: string[] = [];
    const logger = { error: (line: string) => logs.push(line), debug: (line: string) => logs.push(line) };
    const app = express();
    app.get('/me', apiKeyMiddleware(keyring, { logger }), tenantMiddleware(keyring, { logger }), (_, response) => {
      handlers.push('me');
      response.json({ ok: true });
    });
    return { ...(await listeningHost(app, handlers, logs)), storeCalls: lookup.calls };
  }
  const test = await createTestApp(name === 'nest-express' ? 'express' : 'fastify', {
    imports: [ApiKeyModule.forRoot(options)],
    controllers: [MeController],
  });
  return { ...hostOf(test), storeCalls: lookup.calls };
}

describe.each<HostName>(['nest-express', 'nest-fastify', 'express'])('signed keys on %s', (name) => {
  let host: Host | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });
  const get = (key: string) => request(host!.server).get('/me').set('Authorization', `Bearer ${key}`);
  /** 401 INVALID_API_KEY, the handler not run, the store never asked. */
  async function expectRefusedUnasked(key: string) {
    const answer = await get(key);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(INVALID);
    expect(host!.handlers).toEqual([]);
    expect(host!.storeCalls).toEqual([]);
  }

  it('refuses forged signed keys 401 INVALID_API_KEY with no store call and no budget spent', async () => {
    host = await startHost(name, [NEW_SECRET]);
    // Sent at once, as a flood would: each one refused, none reaching the store.
    const keys = Array.from({ length: 40 }, forged);
    const answers = await Promise.all(keys.map(get));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(INVALID);
    }
    // Logged at debug level with the rule, never the key, and once for the flood, not once per key.
    expect(host.logs.filter((line) => line.includes('its signature does not verify'))).toHaveLength(1);
    expect(host.logs.filter((line) => keys.some((key) => line.includes(key)))).toEqual([]);
    expect(host.handlers).toEqual([]);
    expect(host.storeCalls).toEqual([]);
    // The budget of one unknown key is untouched: a key used for the first time is looked up.
    const valid = await get(newKey);
    expect(valid.status).toBe(200);
    expect(valid.body).toEqual({ ok: true });
    expect(host.handlers).toEqual(['me']);
    expect(host.storeCalls).toEqual([newKey]);
  });

  it('refuses an unsigned key with no store call', async () => {
    host = await startHost(name, [NEW_SECRET]);
    await expectRefusedUnasked(unsignedKey);
  });

  it('rotates: both secrets verify during the overlap; the retired one is refused with no store call', async () => {
    host = await startHost(name, [NEW_SECRET, OLD_SECRET]);
    expect((await get(oldKey)).status).toBe(200);
    expect((await get(newKey)).status).toBe(200);
    expect(host.handlers).toEqual(['me', 'me']);
    await host.close();

    host = await startHost(name, [NEW_SECRET]);
    await expectRefusedUnasked(oldKey);
    expect((await get(newKey)).status).toBe(200);
    expect(host.handlers).toEqual(['me']);
    expect(host.storeCalls).toEqual([newKey]);
  });
});

describe('the Express middleware with their default logger', () => {
  const methods = ['log', 'debug', 'info', 'warn', 'error'] as const;
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('write one console.debug line for a flood of forged keys, and still report a failing store', async () => {
    const written: string[] = [];
    for (const method of methods)
      jest
        .spyOn(console, method)
        .mockImplementation((line: unknown) => void written.push(`${method}: ${String(line)}`));
    let storeUp = true;
    const keyring = new Keyring({
      lookup: {
        findKey: async (key: string) => {
          if (!storeUp) throw new Error('store down');
          return key === newKey ? { id: 'key_new', tenants: [{ id: 1 }] } : null;
        },
      },
      signingSecrets: [NEW_SECRET],
    });
    const handlers: string[] = [];
    const app = express();
    app.get('/me', apiKeyMiddleware(keyring), tenantMiddleware(keyring), (_, response) => {
      handlers.push('me');
      response.json({ ok: true });
    });
    const host = await listeningHost(app, handlers, []);
    try {
      const get = (key: string) => request(host.server).get('/me').set('Authorization', `Bearer ${key}`);
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(forged())));
      for (const answer of answers) {
        expect(answer.status).toBe(401);
        expect(answer.body).toEqual(INVALID);
      }
      // One line for the flood, saying which rule, never a key.
      expect(written).toEqual([
        'debug: [nest-keyring] API key refused before any lookup: its signature does not verify',
      ]);
      expect(handlers).toEqual([]);
      written.length = 0;
      // A fault of the store is still reported, on console.error.
      storeUp = false;
      const down = await get(newKey);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('KEY_STORE_UNAVAILABLE');
      expect(handlers).toEqual([]);
      expect(written).toEqual([expect.stringMatching(/^error: \[nest-keyring\] .*store down/)]);
    } finally {
      await host.close();
    }
  });
});

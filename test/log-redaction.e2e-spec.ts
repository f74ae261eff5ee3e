import { afterEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { ApiKeyModule, generateApiKey, Keyring, type KeyringOptions } from '../lib/index.js';
import { apiKeyMiddleware } from '../lib/express.js';
import { MeController } from './fixtures/me-controller.js';
import { createTestApp, hostOf, listeningHost, type Host } from './fixtures/test-app.js';

const hostNames = ['nest-express', 'nest-fastify', 'express-middleware'] as const;

async function startHost(name: (typeof hostNames)[number], options: KeyringOptions): Promise<Host> {
  if (name === 'express-middleware') {
    const logs: string[] = [];
    const handlers: string[] = [];
    const logger = { error: (line: string) => logs.push(`error ${line}`), warn: (line: string) => logs.push(line) };
    const app = express();
    app.get('/me', apiKeyMiddleware(new Keyring(options), { logger }), (_req, res) => {
      handlers.push('me');
      res.json({ ok: true });
    });
    return listeningHost(app, handlers, logs);
  }
  const test = await createTestApp(name === 'nest-fastify' ? 'fastify' : 'express', {
    imports: [ApiKeyModule.forRoot(options)],
    controllers: [MeController],
  });
  return hostOf(test);
}

/** Every run of 8 characters of `key` that `text` holds, in any case. */
function fragmentsOf(key: string, text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 8 <= key.length; i++) {
    if (text.toLowerCase().includes(key.slice(i, i + 8).toLowerCase())) found.push(key.slice(i, i + 8));
  }
  return found;
}

// A store's error may quote what it was given: the key whole, without its prefix, or a piece of
// it (a SQL error near a value). None of it may reach the logs, on any host.
describe.each(hostNames)('store errors are logged without any part of the key on %s', (hostName) => {
  let host: Host | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it.each<[string, (key: string) => string]>([
    ['the key without its prefix', (key) => `no row for ${key.slice(3)}`],
    ['a 12-character fragment', (key) => `syntax error near "${key.slice(10, 22)}"`],
    ['the random part upper-cased', (key) => `NOT FOUND: ${key.slice(3, -6).toUpperCase()}`],
    ['the whole key, twice', (key) => `${key} is not ${key}`],
  ])('quoting %s: 503 KEY_STORE_UNAVAILABLE, handler not run, the line redacted', async (_, quote) => {
    host = await startHost(hostName, {
      lookup: {
        findKey: async (key) => {
          throw new Error(quote(key));
        },
      },
    });
    const { key } = generateApiKey();
    const response = await request(host.server).get('/me').set('Authorization', `Bearer ${key}`);
    expect({ status: response.status, code: response.body.error?.code }).toEqual({
      status: 503,
      code: 'KEY_STORE_UNAVAILABLE',
    });
    expect(host.handlers).toEqual([]);
    const logged = host.logs.join('\n');
    expect(logged).toMatch(/API key lookup failed; answered 503/);
    expect(logged).toContain('[redacted]');
    expect(fragmentsOf(key, logged)).toEqual([]);
    expect(fragmentsOf(key, JSON.stringify(response.body))).toEqual([]);
  });
});

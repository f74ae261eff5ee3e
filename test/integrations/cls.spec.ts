import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { transpileModule } from '../docs/typecheck-blocks.js';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

// nestjs-cls and nest-keyring: the key and tenant nest-keyring chose, read through ClsService by a
// service of the app, on a real HTTP server (cls-app.ts, in a Node process of its own), on both
// Nest adapters, with both recipes of docs/context.md.

const root = fileURLToPath(new URL('../..', import.meta.url));

interface RunningApp {
  url: string;
  keys: { a: string; b: string };
  child: ChildProcess;
  output: () => string;
}

function startApp(adapter: string, recipe: string): Promise<RunningApp> {
  const source = readFileSync(join(root, 'test/integrations/cls-app.ts'), 'utf8');
  const javascript = transpileModule(source);
  const child = spawn(process.execPath, ['--input-type=module'], {
    cwd: root,
    // Jest's --experimental-vm-modules is not for the app.
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, CLS_ADAPTER: adapter, CLS_RECIPE: recipe },
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stdin!.end(javascript);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the app did not listen within 20 s\n${output}`));
    }, 20_000);
    child.once('message', (message: { port: number; keys: RunningApp['keys'] }) => {
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${message.port}`, keys: message.keys, child, output: () => output });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with ${code} before it listened\n${output}`));
    });
  });
}

function stopApp(app: RunningApp | undefined): Promise<void> {
  if (app === undefined || app.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => app.child.kill('SIGKILL'), 5_000);
    app.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    app.child.disconnect();
  });
}

describe.each(['express', 'fastify'])('nestjs-cls on Nest with %s', (adapter) => {
  describe.each([
    ["ClsModule's interceptor, with a setup", 'interceptor'],
    ["ClsModule's middleware, and an interceptor of the app's", 'middleware'],
  ])('%s', (_, recipe) => {
    let app: RunningApp | undefined;
    beforeAll(async () => {
      app = await startApp(adapter, recipe);
    }, 30_000);
    afterAll(() => stopApp(app));

    it('gives a service the key and the tenant through ClsService', async () => {
      const { url, keys } = app!;
      const response = await request(url)
        .get('/cls/slow')
        .set({ Authorization: `Bearer ${keys.b}`, 'X-TENANT-ID': 'tenant-c' });
      expect([response.status, response.body]).toEqual([200, { keyId: 'key-b', after: 'key-b', tenantId: 'tenant-c' }]);
    });

    it('keeps concurrent requests apart', async () => {
      const { url, keys } = app!;
      const answers = await Promise.all([
        request(url)
          .get('/cls/slow')
          .set({ Authorization: `Bearer ${keys.a}` }),
        request(url).get('/cls/quick').set({ 'X-API-KEY': keys.b }),
        request(url)
          .get('/cls/public')
          .set({ Authorization: `Bearer ${keys.a}` }),
        request(url)
          .get('/cls/quick')
          .set({ Authorization: `Bearer ${keys.a}` }),
      ]);
      expect(answers.map(({ status, body }) => [status, body])).toEqual([
        [200, { keyId: 'key-a', after: 'key-a', tenantId: 'tenant-a' }],
        [200, { keyId: 'key-b', after: 'key-b', tenantId: 'tenant-b' }],
        [200, { keyId: null, after: null, tenantId: null }],
        [200, { keyId: 'key-a', after: 'key-a', tenantId: 'tenant-a' }],
      ]);
    });

    it('refuses a request without a key before any handler, and logs nothing', async () => {
      const { url } = app!;
      const refused = await request(url).get('/cls/slow');
      expect([refused.status, refused.body.error?.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
      expect(app!.output()).toBe('');
    });
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import ts from 'typescript';
import { checksumOf } from '../lib/core/keys/api-key-checksum.js';
import { signingSecretFor, signingSecretPath } from '../sample-app/src/store/signing-secret.js';
import type { SampleDatabase } from '../sample-app/src/store/database.js';
import { startSampleApp, type SampleApp } from './fixtures/sample-app.js';
import { ADAPTERS } from './fixtures/test-app.js';

// The sample app signs its keys with KEYRING_SIGNING_SECRET, or with a secret it keeps beside its
// database: made once, owner-only, and the same for every process on that database.

const onFile = (path: string) => ({ memory: false, name: path }) as SampleDatabase;

describe('the sample app signing secret', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-signing-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('is one secret for processes that start together on a database, readable by its owner only', async () => {
    // The module as the app runs it, compiled on its own: children load it without the test's loader.
    const source = readFileSync('sample-app/src/store/signing-secret.ts', 'utf8');
    const compiled = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const module = join(directory, 'signing-secret.mjs');
    writeFileSync(module, compiled.outputText);
    const database = join(directory, 'race.sqlite');
    // Every child sleeps, then spins the last milliseconds, until the same instant: then all look for the file at once.
    const startAt = Date.now() + 3000;
    const script =
      `const { signingSecretFor } = await import(${JSON.stringify(module)});` +
      'const at = Number(process.argv[1]);' +
      'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, at - Date.now() - 20));' +
      'while (Date.now() < at);' +
      'process.stdout.write(signingSecretFor({ memory: false, name: process.argv[2] }));';
    const env = { ...process.env, KEYRING_SIGNING_SECRET: '', NODE_OPTIONS: '' };
    const secrets = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(startAt), database], {
          env,
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const [code] = await once(child, 'exit');
        expect(code).toBe(0);
        return output;
      }),
    );
    expect(secrets[0]).toMatch(/^[\w-]{43}$/);
    expect(new Set(secrets).size).toBe(1);
    expect(readFileSync(signingSecretPath(database), 'utf8').trim()).toBe(secrets[0]);
    expect(statSync(signingSecretPath(database)).mode & 0o777).toBe(0o600);
    // No half-written or temporary file left behind.
    expect(readdirSync(directory).sort()).toEqual(['race.sqlite.signing-secret', 'signing-secret.mjs']);
  }, 30_000);

  it('comes from KEYRING_SIGNING_SECRET when set, and refuses a file too short to be one', () => {
    const previous = process.env.KEYRING_SIGNING_SECRET;
    try {
      process.env.KEYRING_SIGNING_SECRET = 'from-the-environment-0123456789abcdef';
      expect(signingSecretFor(onFile(join(directory, 'env.sqlite')))).toBe('from-the-environment-0123456789abcdef');
      delete process.env.KEYRING_SIGNING_SECRET;
      const short = join(directory, 'short.sqlite');
      writeFileSync(signingSecretPath(short), 'short\n');
      expect(() => signingSecretFor(onFile(short))).toThrow(/no signing secret of 32 characters or more/);
    } finally {
      if (previous === undefined) delete process.env.KEYRING_SIGNING_SECRET;
      else process.env.KEYRING_SIGNING_SECRET = previous;
    }
  });
});

describe.each(ADAPTERS)('the sample app on %s', (adapter) => {
  let sample: SampleApp | undefined;
  afterEach(async () => {
    await sample?.close();
    sample = undefined;
  });

  it("answers its keys command's keys, and refuses a forged signed key 401 INVALID_API_KEY", async () => {
    sample = await startSampleApp(adapter, 'keyring-signed-sample-');
    const { key } = sample.admin.create({ environment: 'production', tenantIds: [123], scopes: [] });
    const me = await request(sample.server).get('/api/v1/me').set('X-API-KEY', key);
    expect(me.status).toBe(200);
    const body = `${key.slice(0, -30)}${'A'.repeat(24)}`;
    const forged = await request(sample.server)
      .get('/api/v1/me')
      .set('X-API-KEY', body + checksumOf(body));
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('INVALID_API_KEY');
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoKeys } from '../sample-app/src/demo-keys.js';
import { openDatabase } from '../sample-app/src/store/database.js';
import { KeyAdmin } from '../sample-app/src/store/key-admin.js';
import { keysCommand } from './support/sample-processes.js';

// `npm run keys -- …`: the compiled sample app's keys command on a database of its own.

describe('npm run keys', () => {
  let directory: string;
  let database: string;

  const keys = (...args: string[]) => keysCommand(database, ...args);

  beforeAll(() => {
    // As `npm run keys` builds: nothing to do when the package and the sample app are up to date.
    const built = spawnSync(process.execPath, ['scripts/build.mjs', '--sample-app', '--quiet'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (built.status !== 0) throw new Error(`the build failed: ${built.stdout}${built.stderr}`);
    directory = mkdtempSync(join(tmpdir(), 'keyring-keys-cli-'));
    database = join(directory, 'keys.sqlite');
  }, 320_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('answers --help with the usage and exit status 0, and an unknown command with status 1', () => {
    for (const help of ['--help', '-h', 'help']) {
      const run = keys(help);
      expect(run).toMatchObject({ status: 0, stderr: '' });
      expect(run.stdout).toContain('Usage: npm run keys -- <command>');
      expect(run.stdout).toMatch(/create --tenants 123,456 \[--env/);
    }
    const unknown = keys('lsit');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^keys: unknown command lsit\n\nUsage:/);
  });

  it('refuses create without --tenants, saying so, and creates nothing', () => {
    const run = keys('create', '--scopes', 'messages:read');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('keys: create needs --tenants');
    expect(keys('list').stdout).toBe('');
  });

  it('creates with --tenants alone (production by default) and lists expired keys as expired', () => {
    const lasting = keys('create', '--tenants', '123');
    expect(lasting.status).toBe(0);
    expect(lasting.stdout).toMatch(/^key_\w+ +pk_\S+ +production +tenants 123 .* active/);
    const past = '2020-01-31T00:00:00.000Z';
    const future = '2999-01-31T00:00:00.000Z';
    const expired = /^(key_\w+)/.exec(keys('create', '--tenants', '456', '--expires', past).stdout)![1]!;
    const expiring = /^(key_\w+)/.exec(keys('create', '--tenants', '456', '--expires', future).stdout)![1]!;
    const list = keys('list').stdout;
    expect(list).toMatch(new RegExp(`^${expired} .* expired ${past}$`, 'm'));
    expect(list).toMatch(new RegExp(`^${expiring} .* expires ${future}$`, 'm'));
  });

  it('keeps a key rolled from a demo key when the next start replaces the demo keys', () => {
    const db = openDatabase(database);
    try {
      const admin = new KeyAdmin(db);
      const demo = createDemoKeys(admin, 3000);
      const rolled = keys('roll', demo.production.row.id, '--overlap', '1h');
      expect(rolled.status).toBe(0);
      const rolledId = /^(key_\w+)/.exec(rolled.stdout)![1]!;
      expect(admin.get(rolledId)!.label).toBe('rolled from demo:3000');

      const next = createDemoKeys(admin, 3000);
      expect(admin.get(rolledId)!.revoked_at).toBeNull();
      expect(keys('list').stdout).toMatch(new RegExp(`^${rolledId} .* active .*\\(rolled from demo:3000\\)$`, 'm'));
      // The demo keys themselves are replaced, the rolled-from one included.
      for (const old of [demo.production, demo.staging]) expect(admin.get(old.row.id)!.revoked_at).not.toBeNull();
      expect(admin.get(next.production.row.id)!.revoked_at).toBeNull();
    } finally {
      db.close();
    }
  });
});

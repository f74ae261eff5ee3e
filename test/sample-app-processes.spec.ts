import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CHILD_NODE_OPTIONS } from './support/child-env.js';
import { freePort, keysCommand, spawnSampleApp } from './support/sample-processes.js';

// The sample app as separate processes, as `npm start` and `npm run keys` run it: two instances on
// one database file (PORT, KEYRING_DB), last-used flushed on SIGTERM, and the keys command.

const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/;

interface Instance {
  port: number;
  child: ChildProcess;
  output: () => string;
}

describe('sample app processes on one database', () => {
  let directory: string;
  let database: string;
  const running = new Set<ChildProcess>();

  /** `npm run keys -- …` on the shared file. */
  const keys = (...args: string[]) => keysCommand(database, ...args);

  async function start(): Promise<Instance> {
    const port = await freePort();
    const env = { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, PORT: String(port), KEYRING_DB: database };
    const { child, output } = spawnSampleApp(running, env);
    for (let attempt = 0; attempt < 300; attempt++) {
      if (child.exitCode !== null) throw new Error(`the sample app exited: ${output()}`);
      const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (healthy && output().includes('Demo keys')) return { port, child, output };
      await sleep(100);
    }
    throw new Error(`the sample app did not start: ${output()}`);
  }

  /** SIGTERM, as a process manager stops a replica; resolves with how it ended. */
  async function stop({ child }: Instance) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    return { code, signal };
  }

  const me = (instance: Instance, key: string) =>
    fetch(`http://127.0.0.1:${instance.port}/api/v1/me`, { headers: { 'x-api-key': key } });

  beforeAll(() => {
    // The compiled sample app (`npm start` and `npm run keys` compile it the same way).
    const compiled = spawnSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'sample-app/tsconfig.json'],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    if (compiled.status !== 0) throw new Error(`sample app did not compile: ${compiled.stdout}${compiled.stderr}`);
    directory = mkdtempSync(join(tmpdir(), 'keyring-processes-'));
    database = join(directory, 'shared.sqlite');
  }, 150_000);
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });

  it('serves from two instances on one KEYRING_DB, flushes last-used on SIGTERM, and rolls from the CLI', async () => {
    // Both start at once on a new file: schema and added columns must not collide.
    const [first, second] = await Promise.all([start(), start()]);
    const created = keys(
      'create',
      '--env',
      'production',
      '--tenants',
      '123,456',
      '--scopes',
      'messages:read',
      '--rate-limit',
      '5/1s',
    );
    expect(created.status).toBe(0);
    const key = /^key: (\S+)$/m.exec(created.stdout)![1]!;
    const id = /^(key_\w+)/.exec(created.stdout)![1]!;

    for (const instance of [first, second]) {
      const response = await me(instance, key);
      expect({ port: instance.port, status: response.status }).toEqual({ port: instance.port, status: 200 });
    }
    // Each instance's demo keys survive the other's start (they are per port).
    const firstDemoKey = /production +(pk_\S+)/.exec(first.output())![1]!;
    expect((await me(second, firstDemoKey)).status).toBe(200);

    const before = keys('list');
    expect(before.status).toBe(0);
    const line = () =>
      keys('list')
        .stdout.split('\n')
        .find((row) => row.startsWith(id))!;
    expect(line()).toContain('rate limit 5/1s');
    expect(line()).not.toContain('last used');

    // Written behind: only on SIGTERM (the interval is a minute) does the first instance write it.
    const stopped = await stop(first);
    expect(stopped).toEqual({ code: null, signal: 'SIGTERM' });
    expect(line()).toMatch(new RegExp(`last used ${ISO.source}`));

    const rolled = keys('roll', id, '--overlap', '1h');
    expect(rolled.status).toBe(0);
    const newKey = /^key: (\S+)$/m.exec(rolled.stdout)![1]!;
    expect(newKey).toMatch(/^pk_/);
    expect(newKey).not.toBe(key);
    expect(rolled.stdout).toMatch(new RegExp(`${id} keeps working until ${ISO.source}`));
    const newLine = rolled.stdout.split('\n')[0]!;
    expect(newLine).toContain('tenants 123,456  scopes messages:read  active  rate limit 5/1s');
    expect((await me(second, newKey)).status).toBe(200);
    expect((await me(second, key)).status).toBe(200);

    expect(await stop(second)).toEqual({ code: null, signal: 'SIGTERM' });
    for (const instance of [first, second]) expect(instance.output()).not.toMatch(/\bWARN\b|\bERROR\b/);
  }, 90_000);

  it.each<[string, string[], RegExp]>([
    ['a rate limit without a window', ['create', '--tenants', '123', '--rate-limit', '5'], /--rate-limit: .*got "5"/],
    [
      'a rate limit of 0',
      ['create', '--tenants', '123', '--rate-limit', '0/1s'],
      /--rate-limit: a rate limit is N\/<duration>/,
    ],
    ['an unknown unit', ['create', '--tenants', '123', '--rate-limit', '5/1y'], /got "5\/1y"/],
    ['a roll without an id', ['roll'], /roll takes a key id/],
    ['a roll of an unknown key', ['roll', 'key_nothing'], /no active key key_nothing/],
    [
      'an overlap that is not a duration',
      ['roll', 'key_nothing', '--overlap', 'tomorrow'],
      /--overlap: .*got "tomorrow"/,
    ],
  ])('the keys command refuses %s with a message and exit status 1', (_, args, message) => {
    const run = keys(...args);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('starts on a new file while another process writes to it, waiting for its lock to switch to WAL', async () => {
    // What a second instance meets when the first is still creating the file: SQLite refuses
    // the switch to WAL at once, without the busy timeout, while another process holds a write lock.
    const fresh = join(directory, 'fresh.sqlite');
    const writer = new Database(fresh);
    writer.exec('CREATE TABLE first_instance (id INTEGER)');
    writer.exec('BEGIN IMMEDIATE');
    const list = spawn(process.execPath, ['sample-app/dist/keys-cli.js', 'list'], {
      env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, KEYRING_DB: fresh },
    });
    let output = '';
    list.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    list.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(list, 'exit');
    await sleep(400);
    const waitedForTheLock = list.exitCode === null;
    writer.exec('COMMIT');
    writer.close();
    const [code] = (await exited) as [number | null];

    expect({ code, output: code === 0 ? '' : output, waitedForTheLock }).toEqual({
      code: 0,
      output: '',
      waitedForTheLock: true,
    });
    const db = new Database(fresh);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT count(*) AS n FROM tenants').get()).toEqual({ n: 3 });
    db.close();
  });

  it('brings a database file of an older version up to date (last_used_at, rate_limit)', () => {
    const older = join(directory, 'older.sqlite');
    const db = new Database(older);
    db.exec(`CREATE TABLE api_keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, display_prefix TEXT NOT NULL,
      environment TEXT NOT NULL, scopes TEXT NOT NULL, label TEXT, expires_at TEXT, revoked_at TEXT,
      created_at TEXT NOT NULL)`);
    db.prepare(`INSERT INTO api_keys VALUES ('key_old', 'h', 'pk_abcd…', 'production', '[]', NULL, NULL, NULL, ?)`).run(
      new Date().toISOString(),
    );
    db.close();
    const run = spawnSync(process.execPath, ['sample-app/dist/keys-cli.js', 'list'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, KEYRING_DB: older },
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^key_old +pk_abcd… +production +tenants - +scopes - +active$/m);
    const columns = new Database(older).pragma('table_info(api_keys)') as Array<{ name: string }>;
    expect(columns.map((column) => column.name)).toEqual(expect.arrayContaining(['last_used_at', 'rate_limit']));
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { openDatabase } from '../sample-app/src/store/database.js';
import { KeyAdmin } from '../sample-app/src/store/key-admin.js';
import {
  KEY_NOT_FOUND,
  SEND,
  startSampleApp,
  WEBHOOK_SECRET,
  type HttpServer,
  type SampleApp,
} from './fixtures/sample-app.js';
import { ADAPTERS } from './fixtures/test-app.js';

/** The permission bits of a file or folder, in octal. */
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

// The sample app as users run it: SQLite file, keys created by the admin, only hashes stored.
describe.each(ADAPTERS)('sample app on %s', (adapter) => {
  let sampleApp: SampleApp;
  let directory: string;
  let database: string;
  let admin: KeyAdmin;
  let server: HttpServer;

  beforeAll(async () => {
    // A folder that does not exist yet: the app creates it.
    sampleApp = await startSampleApp(adapter, 'keyring-sample-', join('data', 'keys.sqlite'));
    ({ directory, database, server, admin } = sampleApp);
  });
  afterAll(() => sampleApp.close());

  it('goes from creating a key to sending as a second tenant to revocation', async () => {
    const { key, row } = admin.create({
      environment: 'production',
      tenantIds: [123, 456],
      scopes: ['messages:send', 'messages:read'],
    });
    expect(JSON.stringify(openDatabase(database).prepare('SELECT * FROM api_keys').all())).not.toContain(key);

    const first = await request(server).post('/api/v1/messages/send').set('Authorization', `Bearer ${key}`).send(SEND);
    expect(first.status).toBe(200);
    expect(first.body.data.tenant_id).toBe(123);

    const second = await request(server)
      .post('/api/v1/messages/send')
      .set('X-API-KEY', key)
      .set('X-TENANT-ID', '456')
      .send(SEND);
    expect(second.status).toBe(200);
    expect(second.body.data.tenant_id).toBe(456);

    const tenant456 = await request(server).get('/api/v1/messages').set('X-API-KEY', key).set('X-TENANT-ID', '456');
    expect(tenant456.body.data.map((message: { message_id: string }) => message.message_id)).toEqual([
      second.body.data.message_id,
    ]);

    const me = await request(server).get('/api/v1/me').set('X-API-KEY', key);
    expect(me.body.data).toEqual({
      key_id: row.id,
      environment: 'production',
      scopes: ['messages:send', 'messages:read'],
      tenant: { id: 123, name: 'Acme Trading' },
    });

    const foreign = await request(server).get('/api/v1/me').set('X-API-KEY', key).set('X-TENANT-ID', '789');
    expect({ status: foreign.status, code: foreign.body.error.code }).toEqual({
      status: 403,
      code: 'TENANT_NOT_FOUND',
    });

    // Revoked by another process: refused once this app's cache entry goes (TTL; here, at once
    // after the app hears of it).
    expect(admin.revoke(row.id)).toBe(true);
    const stillCached = await request(server).get('/api/v1/me').set('X-API-KEY', key);
    expect(stillCached.status).toBe(200);
  });

  /** Asks the app to revoke `target` with `callerKey`; the answer, and whether the key is revoked now. */
  async function revokeThroughApp(callerKey: string, target: { row: { id: string } }) {
    const response = await request(server).delete(`/api/v1/keys/${target.row.id}`).set('X-API-KEY', callerKey);
    return { status: response.status, body: response.body, revoked: admin.get(target.row.id)?.revoked_at != null };
  }

  it('revokes a key of its own tenant and environment through the app: refused on its very next request', async () => {
    const adminKey = admin.create({
      environment: 'production',
      tenantIds: [123, 456],
      scopes: ['keys:admin', 'messages:read'],
    }).key;
    const target = admin.create({ environment: 'production', tenantIds: [456], scopes: ['messages:read'] });
    // Used once, so the app holds the record in its cache.
    expect((await request(server).get('/api/v1/messages').set('X-API-KEY', target.key)).status).toBe(200);

    const forbidden = await request(server).delete(`/api/v1/keys/${target.row.id}`).set('X-API-KEY', target.key);
    expect({ status: forbidden.status, code: forbidden.body.error.code }).toEqual({
      status: 403,
      code: 'INSUFFICIENT_SCOPE',
    });

    expect(await revokeThroughApp(adminKey, target)).toEqual({
      status: 200,
      body: { success: true, data: { id: target.row.id, revoked: true } },
      revoked: true,
    });
    const refused = await request(server).get('/api/v1/messages').set('X-API-KEY', target.key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
  });

  it(
    "answers 404, as if the key did not exist, to an admin of tenant A revoking tenant B's key; the key keeps " +
      'working',
    async () => {
      const adminKey = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] }).key;
      const target = admin.create({ environment: 'production', tenantIds: [456], scopes: ['messages:read'] });

      expect(await revokeThroughApp(adminKey, target)).toEqual({ status: 404, body: KEY_NOT_FOUND, revoked: false });
      const stillWorks = await request(server).get('/api/v1/messages').set('X-API-KEY', target.key);
      expect(stillWorks.status).toBe(200);
    },
  );

  it('answers 404 to an admin of tenant A revoking a key linked to tenants A and B', async () => {
    const adminKey = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] }).key;
    const target = admin.create({ environment: 'production', tenantIds: [123, 456], scopes: ['messages:read'] });

    expect(await revokeThroughApp(adminKey, target)).toEqual({ status: 404, body: KEY_NOT_FOUND, revoked: false });
    expect((await request(server).get('/api/v1/messages').set('X-API-KEY', target.key)).status).toBe(200);
  });

  it('answers 404 to a production admin revoking a staging key of the same tenant', async () => {
    const adminKey = admin.create({ environment: 'production', tenantIds: [789], scopes: ['keys:admin'] }).key;
    const target = admin.create({ environment: 'staging', tenantIds: [789], scopes: ['messages:read'] });
    expect(adminKey.startsWith('pk_') && target.key.startsWith('sk_')).toBe(true);

    expect(await revokeThroughApp(adminKey, target)).toEqual({ status: 404, body: KEY_NOT_FOUND, revoked: false });
    expect((await request(server).get('/api/v1/messages').set('X-API-KEY', target.key)).status).toBe(200);
  });

  it('answers 404 to an admin revoking a key linked to no tenant (its owner cannot be shown)', async () => {
    const adminKey = admin.create({
      environment: 'production',
      tenantIds: [123, 456, 789],
      scopes: ['keys:admin'],
    }).key;
    const target = admin.create({ environment: 'production', tenantIds: [], scopes: ['messages:read'] });

    expect(await revokeThroughApp(adminKey, target)).toEqual({ status: 404, body: KEY_NOT_FOUND, revoked: false });
  });

  it('answers an unknown key id with the same 404 as a key of another tenant', async () => {
    const adminKey = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] }).key;
    const foreign = admin.create({ environment: 'production', tenantIds: [456], scopes: [] });

    const unknown = await request(server).delete('/api/v1/keys/key_00000000').set('X-API-KEY', adminKey);
    const refused = await revokeThroughApp(adminKey, foreign);
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 404, body: KEY_NOT_FOUND });
    expect({ status: refused.status, body: refused.body }).toEqual({ status: unknown.status, body: unknown.body });
    expect(refused.revoked).toBe(false);
  });

  it(
    'revokes nothing for an admin key revoked a moment ago by another process, ' + 'though the app still holds it',
    async () => {
      const caller = admin.create({
        environment: 'production',
        tenantIds: [123],
        scopes: ['keys:admin', 'messages:read'],
      });
      const target = admin.create({ environment: 'production', tenantIds: [123], scopes: ['messages:read'] });
      expect((await request(server).get('/api/v1/messages').set('X-API-KEY', caller.key)).status).toBe(200);
      expect(admin.revoke(caller.row.id)).toBe(true);

      expect(await revokeThroughApp(caller.key, target)).toEqual({ status: 404, body: KEY_NOT_FOUND, revoked: false });
    },
  );

  it('still lets the operator revoke any key from the command line (npm run keys -- revoke)', () => {
    const target = admin.create({ environment: 'staging', tenantIds: [], scopes: [] });
    expect(admin.revoke(target.row.id)).toBe(true);
    expect(admin.get(target.row.id)?.revoked_at).not.toBeNull();
  });

  it('creates its data folder and database files readable by their owner only', () => {
    expect(modeOf(join(directory, 'data'))).toBe('700');
    for (const file of [database, `${database}-wal`, `${database}-shm`])
      expect({ file, mode: modeOf(file) }).toEqual({ file, mode: '600' });
  });

  it('refuses expired keys and keys of unknown tenants', async () => {
    const expired = admin.create({
      environment: 'production',
      tenantIds: [123],
      scopes: [],
      expiresAt: new Date(Date.now() - 1000),
    });
    const response = await request(server).get('/api/v1/me').set('X-API-KEY', expired.key);
    expect({ status: response.status, code: response.body.error.code }).toEqual({
      status: 401,
      code: 'INVALID_API_KEY',
    });
    expect(() => admin.create({ environment: 'production', tenantIds: [999], scopes: [] })).toThrow(
      /unknown tenant\(s\): 999/,
    );
  });

  it('receives a gateway webhook: 401 for a wrong secret, else 200 at once and the event stored', async () => {
    const wrong = await request(server)
      .post('/webhooks/gateway')
      .set('Authorization', `Bearer ${WEBHOOK_SECRET.slice(0, -1)}x`)
      .send({ event: 'a' });
    expect({ status: wrong.status, code: wrong.body.error.code }).toEqual({
      status: 401,
      code: 'INVALID_WEBHOOK_SECRET',
    });
    const accepted = await request(server)
      .post('/webhooks/gateway')
      .set('Authorization', `Bearer ${WEBHOOK_SECRET}`)
      .send({ event: 'message.delivered' });
    expect(accepted.status).toBe(200);
    const events = () => openDatabase(database).prepare('SELECT payload FROM webhook_events').all();
    for (let attempt = 0; attempt < 50 && events().length === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events()).toEqual([{ payload: JSON.stringify({ event: 'message.delivered' }) }]);
  });

  it('answers the health check without a key', async () => {
    const response = await request(server).get('/health');
    expect(response.status).toBe(200);
  });
});

describe('sample app database files', () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-sample-files-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  /** A database as an older version left it: folder 0755, files 0644, the -wal and -shm files present. */
  function openAsOlderVersion(folder: string, file: string): Database.Database {
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    const older = new Database(join(folder, file));
    older.pragma('journal_mode = WAL');
    older.exec('CREATE TABLE IF NOT EXISTS t (x)');
    for (const path of [join(folder, file), join(folder, `${file}-wal`), join(folder, `${file}-shm`)])
      chmodSync(path, 0o644);
    return older;
  }

  it.each([
    ['tightens its own data folder and the database files an older version left open', 'own', 'keyring.sqlite', '700'],
    ['leaves a folder the user chose as it is, but tightens the database files in it', 'chosen', 'keys.sqlite', '755'],
  ])('%s', (_, name, file, folderMode) => {
    const folder = join(directory, name);
    const older = openAsOlderVersion(folder, file);
    const db = openDatabase(join(folder, file), name === 'own' ? { ownsDirectory: true } : undefined);
    try {
      expect(modeOf(folder)).toBe(folderMode);
      for (const written of [file, `${file}-wal`, `${file}-shm`])
        expect({ file: written, mode: modeOf(join(folder, written)) }).toEqual({ file: written, mode: '600' });
    } finally {
      db.close();
      older.close();
    }
  });
});

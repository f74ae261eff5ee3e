import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AppModule } from '../sample-app/src/app.module.js';
import { openDatabase } from '../sample-app/src/store/database.js';
import { KeyAdmin } from '../sample-app/src/store/key-admin.js';
import { ADAPTERS, createTestApp, type TestApp } from './fixtures/test-app.js';

const SEND = { phone: '+966501234567', message_type: 'text', data: { body: 'Hello' } };
const WEBHOOK_SECRET = 'Vq3xYh7Lk2Pz9Rt6Wm4Nb8Cd1Fg5Js0Ae';

// The sample app as users run it: SQLite file, keys issued by the admin, only hashes stored.
describe.each(ADAPTERS)('sample app on %s', (adapter) => {
  let directory: string;
  let test: TestApp;
  let admin: KeyAdmin;
  let server: ReturnType<TestApp['app']['getHttpServer']>;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-sample-'));
    const database = join(directory, 'keys.sqlite');
    test = await createTestApp(adapter, { imports: [AppModule.forDatabase(database, WEBHOOK_SECRET)] }, { rawBody: true });
    server = test.app.getHttpServer();
    // The admin command is another process with its own connection to the same file.
    admin = new KeyAdmin(openDatabase(database));
  });
  afterAll(async () => {
    await test.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('goes from issuing a key to sending as a second tenant to revocation', async () => {
    const { key, row } = admin.create({ environment: 'production', tenantIds: [123, 456], scopes: ['messages:send', 'messages:read'] });
    expect(JSON.stringify(openDatabase(join(directory, 'keys.sqlite')).prepare('SELECT * FROM api_keys').all())).not.toContain(key);

    const first = await request(server).post('/api/v1/messages/send').set('Authorization', `Bearer ${key}`).send(SEND);
    expect(first.status).toBe(200);
    expect(first.body.data.tenant_id).toBe(123);

    const second = await request(server).post('/api/v1/messages/send').set('X-API-KEY', key).set('X-TENANT-ID', '456').send(SEND);
    expect(second.status).toBe(200);
    expect(second.body.data.tenant_id).toBe(456);

    const tenant456 = await request(server).get('/api/v1/messages').set('X-API-KEY', key).set('X-TENANT-ID', '456');
    expect(tenant456.body.data.map((message: { message_id: string }) => message.message_id)).toEqual([second.body.data.message_id]);

    const me = await request(server).get('/api/v1/me').set('X-API-KEY', key);
    expect(me.body.data).toEqual({
      key_id: row.id,
      environment: 'production',
      scopes: ['messages:send', 'messages:read'],
      tenant: { id: 123, name: 'Acme Trading' },
    });

    const foreign = await request(server).get('/api/v1/me').set('X-API-KEY', key).set('X-TENANT-ID', '789');
    expect({ status: foreign.status, code: foreign.body.error.code }).toEqual({ status: 403, code: 'TENANT_NOT_FOUND' });

    // Revoked by another process: refused once this app's cache entry goes (TTL; here, at once
    // after the app hears of it).
    expect(admin.revoke(row.id)).toBe(true);
    const stillCached = await request(server).get('/api/v1/me').set('X-API-KEY', key);
    expect(stillCached.status).toBe(200);
  });

  it('revokes through the app at once', async () => {
    const adminKey = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] }).key;
    const { key, row } = admin.create({ environment: 'staging', tenantIds: [789], scopes: ['messages:read'] });
    expect((await request(server).get('/api/v1/messages').set('X-API-KEY', key)).status).toBe(200);

    const forbidden = await request(server).delete(`/api/v1/keys/${row.id}`).set('X-API-KEY', key);
    expect({ status: forbidden.status, code: forbidden.body.error.code }).toEqual({ status: 403, code: 'INSUFFICIENT_SCOPE' });

    const revoked = await request(server).delete(`/api/v1/keys/${row.id}`).set('X-API-KEY', adminKey);
    expect(revoked.status).toBe(200);
    const refused = await request(server).get('/api/v1/messages').set('X-API-KEY', key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
  });

  it('refuses expired keys and keys of unknown tenants', async () => {
    const expired = admin.create({ environment: 'production', tenantIds: [123], scopes: [], expiresAt: new Date(Date.now() - 1000) });
    const response = await request(server).get('/api/v1/me').set('X-API-KEY', expired.key);
    expect({ status: response.status, code: response.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(() => admin.create({ environment: 'production', tenantIds: [999], scopes: [] })).toThrow(/unknown tenant\(s\): 999/);
  });

  it('receives a gateway webhook: 401 for a wrong secret, else 200 at once and the event stored', async () => {
    const wrong = await request(server).post('/webhooks/gateway').set('Authorization', `Bearer ${WEBHOOK_SECRET.slice(0, -1)}x`).send({ event: 'a' });
    expect({ status: wrong.status, code: wrong.body.error.code }).toEqual({ status: 401, code: 'INVALID_WEBHOOK_SECRET' });
    const accepted = await request(server).post('/webhooks/gateway').set('Authorization', `Bearer ${WEBHOOK_SECRET}`).send({ event: 'message.delivered' });
    expect(accepted.status).toBe(200);
    const events = () => openDatabase(join(directory, 'keys.sqlite')).prepare('SELECT payload FROM webhook_events').all();
    for (let attempt = 0; attempt < 50 && events().length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events()).toEqual([{ payload: JSON.stringify({ event: 'message.delivered' }) }]);
  });

  it('answers the health check without a key', async () => {
    const response = await request(server).get('/health');
    expect(response.status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { AppModule } from '../sample-app/src/app.module.js';
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
import { ADAPTERS, createTestApp } from './fixtures/test-app.js';

const HOUR = 60 * 60 * 1000;

// Rolling keys and last-used on the sample app, through HTTP, on both adapters.
describe.each(ADAPTERS)('sample app key rolls and last-used on %s', (adapter) => {
  let sampleApp: SampleApp;
  let directory: string;
  let database: string;
  let admin: KeyAdmin;
  let server: HttpServer;

  beforeAll(async () => {
    sampleApp = await startSampleApp(adapter, 'keyring-roll-');
    ({ directory, database, server, admin } = sampleApp);
  });
  afterAll(() => sampleApp.close());

  const messagesOf = (keyId: string) =>
    openDatabase(database).prepare('SELECT id FROM messages WHERE key_id = ?').all(keyId).length;
  const send = (key: string) => request(server).post('/api/v1/messages/send').set('X-API-KEY', key).send(SEND);
  const roll = (callerKey: string, id: string, body?: object) => {
    const call = request(server).post(`/api/v1/keys/${id}/roll`).set('X-API-KEY', callerKey);
    return body === undefined ? call : call.send(body);
  };

  it('answers the new key; both work during the overlap, then the old one is refused (handler not run)', async () => {
    const old = admin.create({
      environment: 'production',
      tenantIds: [123, 456],
      scopes: ['messages:send', 'keys:admin'],
      label: 'integration',
      rateLimit: { limit: 5, windowMs: 1000 },
    });
    // Cached by the app before the roll: the roll must make it forget this verdict.
    expect((await send(old.key)).status).toBe(200);

    const rolled = await roll(old.key, old.row.id, { overlap: '1s' });
    expect(rolled.status).toBe(200);
    const { id, key, environment, old_id, old_expires_at } = rolled.body.data;
    expect({ success: rolled.body.success, environment, old_id }).toEqual({
      success: true,
      environment: 'production',
      old_id: old.row.id,
    });
    expect(key).toMatch(/^pk_/);
    expect(id).not.toBe(old.row.id);
    expect(admin.get(id)).toMatchObject({
      tenant_ids: [123, 456],
      scopes: ['messages:send', 'keys:admin'],
      label: 'integration',
      rate_limit: { limit: 5, windowMs: 1000 },
      expires_at: null,
      revoked_at: null,
    });
    expect(admin.get(old.row.id)?.expires_at).toBe(old_expires_at);

    const fresh = await send(key);
    expect({ status: fresh.status, tenant: fresh.body.data.tenant_id }).toEqual({ status: 200, tenant: 123 });
    const during = await request(server)
      .post('/api/v1/messages/send')
      .set('Authorization', `Bearer ${old.key}`)
      .set('X-TENANT-ID', '456')
      .send(SEND);
    expect(during.status).toBe(200);

    await sleep(Math.max(0, Date.parse(old_expires_at) - Date.now()) + 50);
    const sentBefore = messagesOf(old.row.id);
    const after = await send(old.key);
    expect({ status: after.status, code: after.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(messagesOf(old.row.id)).toBe(sentBefore);
    expect((await send(key)).status).toBe(200);
  });

  it('gives the old key 24 h by default, never longer than it had', async () => {
    const caller = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] });
    const target = admin.create({ environment: 'production', tenantIds: [123], scopes: [] });
    const before = Date.now();
    const rolled = await roll(caller.key, target.row.id);
    expect(rolled.status).toBe(200);
    const end = Date.parse(rolled.body.data.old_expires_at);
    expect(end).toBeGreaterThanOrEqual(before + 24 * HOUR);
    expect(end).toBeLessThanOrEqual(Date.now() + 24 * HOUR);

    const soon = new Date(Date.now() + HOUR);
    const shortLived = admin.create({ environment: 'production', tenantIds: [123], scopes: [], expiresAt: soon });
    const again = await roll(caller.key, shortLived.row.id, { overlap: '24h' });
    expect(again.body.data.old_expires_at).toBe(soon.toISOString());
    expect(admin.get(again.body.data.id)?.expires_at).toBe(soon.toISOString());
  });

  it.each<[string, { environment: 'production' | 'staging'; tenantIds: number[] }]>([
    ["another tenant's key", { environment: 'production', tenantIds: [456] }],
    ['a key of its tenant and another', { environment: 'production', tenantIds: [123, 456] }],
    ['a key of another environment', { environment: 'staging', tenantIds: [123] }],
    ['a key linked to no tenant', { environment: 'production', tenantIds: [] }],
  ])('answers 404 as for an unknown id, like DELETE, to a roll of %s; nothing changes', async (_, target) => {
    const caller = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] });
    const victim = admin.create({ ...target, scopes: ['messages:send'] });
    const keysBefore = admin.list().length;

    const refused = await roll(caller.key, victim.row.id, { overlap: '1s' });
    const unknown = await roll(caller.key, 'key_00000000');
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 404, body: KEY_NOT_FOUND });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: 404, body: KEY_NOT_FOUND });
    expect(admin.list()).toHaveLength(keysBefore);
    expect(admin.get(victim.row.id)?.expires_at).toBeNull();
  });

  it('answers a roll or revoke of a key with a scope the caller lacks as an unknown id; nothing changes', async () => {
    const caller = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] });
    const unknownRoll = await roll(caller.key, 'key_00000000');
    const unknownRevoke = await request(server).delete('/api/v1/keys/key_00000000').set('X-API-KEY', caller.key);
    for (const scopes of [['messages:send'], ['keys:admin', 'messages:send'], ['messages:read']]) {
      const victim = admin.create({ environment: 'production', tenantIds: [123], scopes });
      const keysBefore = admin.list().length;
      const rolled = await roll(caller.key, victim.row.id, { overlap: '1s' });
      const revoked = await request(server).delete(`/api/v1/keys/${victim.row.id}`).set('X-API-KEY', caller.key);
      expect({ status: rolled.status, body: rolled.body }).toEqual({
        status: unknownRoll.status,
        body: unknownRoll.body,
      });
      expect({ status: revoked.status, body: revoked.body }).toEqual({
        status: unknownRevoke.status,
        body: unknownRevoke.body,
      });
      expect(rolled.body).toEqual(KEY_NOT_FOUND);
      expect(admin.list()).toHaveLength(keysBefore);
      expect(admin.get(victim.row.id)).toMatchObject({ expires_at: null, revoked_at: null });
    }

    // A caller that holds every scope of the key may roll it: the new key has no more than that.
    const holder = admin.create({
      environment: 'production',
      tenantIds: [123],
      scopes: ['keys:admin', 'messages:send'],
    });
    const target = admin.create({ environment: 'production', tenantIds: [123], scopes: ['messages:send'] });
    const rolled = await roll(holder.key, target.row.id);
    expect(rolled.status).toBe(200);
    expect(admin.get(rolled.body.data.id)?.scopes).toEqual(['messages:send']);
    expect((await send(rolled.body.data.key)).status).toBe(200);
    // The new key cannot roll anything: it lacks keys:admin.
    const byNewKey = await roll(rolled.body.data.key, holder.row.id);
    expect({ status: byNewKey.status, code: byNewKey.body.error.code }).toEqual({
      status: 403,
      code: 'INSUFFICIENT_SCOPE',
    });
  });

  it('counts a key and the keys rolled from it as one limit: 5 a window across three keys, the 6th 429', async () => {
    const caller = admin.create({
      environment: 'production',
      tenantIds: [123],
      scopes: ['keys:admin', 'messages:send'],
    });
    const first = admin.create({
      environment: 'production',
      tenantIds: [123],
      scopes: ['messages:send'],
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
    const second = (await roll(caller.key, first.row.id)).body.data;
    const third = (await roll(caller.key, second.id)).body.data;
    expect(admin.get(third.id)?.rate_limit).toEqual({ limit: 5, windowMs: 60_000 });
    const keys = [first.key, second.key, third.key];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(keys[i % 3]!)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await send(first.key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(messagesOf(first.row.id) + messagesOf(second.id) + messagesOf(third.id)).toBe(5);
  });

  it('refuses a roll without keys:admin (403), of a revoked key (404), with a bad overlap (400)', async () => {
    const plain = admin.create({ environment: 'production', tenantIds: [123], scopes: ['messages:send'] });
    const forbidden = await roll(plain.key, plain.row.id);
    expect({ status: forbidden.status, code: forbidden.body.error.code }).toEqual({
      status: 403,
      code: 'INSUFFICIENT_SCOPE',
    });

    const caller = admin.create({ environment: 'production', tenantIds: [123], scopes: ['keys:admin'] });
    const revoked = admin.create({ environment: 'production', tenantIds: [123], scopes: [] });
    admin.revoke(revoked.row.id);
    expect((await roll(caller.key, revoked.row.id)).body).toEqual(KEY_NOT_FOUND);

    for (const overlap of ['1 day', '24', -1, '31d', { hours: 1 }]) {
      const bad = await roll(caller.key, plain.row.id, { overlap });
      expect({ overlap, status: bad.status, code: bad.body.error?.code }).toEqual({
        overlap,
        status: 400,
        code: 'INVALID_OVERLAP',
      });
    }
    expect(admin.get(plain.row.id)?.expires_at).toBeNull();
  });

  it("writes keys' last use on shutdown, never for refused requests or unused keys", async () => {
    const own = join(directory, `own-${adapter}.sqlite`);
    const app = await createTestApp(adapter, { imports: [AppModule.forDatabase(own, WEBHOOK_SECRET)] });
    const keys = new KeyAdmin(openDatabase(own));
    const used = keys.create({ environment: 'production', tenantIds: [123], scopes: ['messages:read'] });
    const refused = keys.create({ environment: 'production', tenantIds: [123], scopes: [] });
    const idle = keys.create({ environment: 'production', tenantIds: [123], scopes: [] });
    const started = new Date().toISOString();
    for (let i = 0; i < 3; i++)
      expect((await request(app.app.getHttpServer()).get('/api/v1/messages').set('X-API-KEY', used.key)).status).toBe(
        200,
      );
    const wrongTenant = await request(app.app.getHttpServer())
      .get('/api/v1/me')
      .set('X-API-KEY', refused.key)
      .set('X-TENANT-ID', '456');
    expect(wrongTenant.status).toBe(403);
    // Written behind: nothing yet.
    expect(keys.get(used.row.id)?.last_used_at).toBeNull();

    await app.close();
    const lastUsed = keys.get(used.row.id)?.last_used_at;
    expect(lastUsed! >= started && lastUsed! <= new Date().toISOString()).toBe(true);
    expect(keys.get(refused.row.id)?.last_used_at).toBeNull();
    expect(keys.get(idle.row.id)?.last_used_at).toBeNull();
    expect(app.logger.lines.filter((line) => line.startsWith('warn'))).toEqual([]);
  });
});

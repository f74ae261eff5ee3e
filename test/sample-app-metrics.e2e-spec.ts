import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { KeyAdmin } from '../sample-app/src/store/key-admin.js';
import { SEND, startSampleApp, WEBHOOK_SECRET, type HttpServer, type SampleApp } from './fixtures/sample-app.js';
import { ADAPTERS } from './fixtures/test-app.js';

/** One sample's value in Prometheus text: the line of `name` whose labels include all of `labels`; 0 if none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([label, value]) => found[label] === value)) return Number(match[3]);
  }
  return 0;
}

// The sample app's /metrics: public, Prometheus text, fed by nest-keyring's diagnostics channels.
describe.each(ADAPTERS)('sample app /metrics on %s', (adapter) => {
  let sampleApp: SampleApp;
  let admin: KeyAdmin;
  let server: HttpServer;
  const scrape = async () => {
    const response = await request(server).get('/metrics');
    expect(response.status).toBe(200);
    return response.text;
  };

  beforeAll(async () => {
    sampleApp = await startSampleApp(adapter, 'keyring-metrics-');
    ({ server, admin } = sampleApp);
  });
  afterAll(() => sampleApp.close());

  it('answers without a key, in the Prometheus text format', async () => {
    const response = await request(server).get('/metrics');
    expect(response.status).toBe(200);
    // Express 4 moves the charset first: the type and the format version are what Prometheus reads.
    expect(response.headers['content-type']).toMatch(/^text\/plain;/);
    expect(response.headers['content-type']).toContain('version=0.0.4');
    expect(response.text).toContain('# TYPE nest_keyring_requests_refused_total counter');
  });

  it.each([
    ['no key', {}, { reason: 'missing', code: 'AUTHENTICATION_REQUIRED', status: '401' }],
    ['an unknown key', { 'X-API-KEY': 'pk_nope' }, { reason: 'invalid', code: 'INVALID_API_KEY', status: '401' }],
  ])('counts a refusal for %s by the time the refused response has arrived', async (_, headers, labels) => {
    const before = sample(await scrape(), 'nest_keyring_requests_refused_total', labels);
    const refused = await request(server).post('/api/v1/messages/send').set(headers).send(SEND);
    expect([refused.status, refused.body.error.code]).toEqual([Number(labels.status), labels.code]);
    expect(sample(await scrape(), 'nest_keyring_requests_refused_total', labels)).toBe(before + 1);
  });

  it('counts admissions, store lookups then cache hits, and times the store; no key material anywhere', async () => {
    const { key, row } = admin.create({ environment: 'production', tenantIds: [123, 456], scopes: ['messages:send'] });
    const before = await scrape();
    const tenantRefused = { reason: 'tenant_not_found', code: 'TENANT_NOT_FOUND', status: '403' };
    for (let i = 0; i < 3; i++) {
      const sent = await request(server).post('/api/v1/messages/send').set('Authorization', `Bearer ${key}`).send(SEND);
      expect(sent.status).toBe(200);
    }
    const foreign = await request(server).get('/api/v1/me').set('X-API-KEY', key).set('X-TENANT-ID', '999');
    expect(foreign.status).toBe(403);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('nest_keyring_requests_admitted_total')).toBe(3);
    // The key is now in the cache, which dropped none still in use.
    expect(sample(after, 'nest_keyring_cache_keys')).toBeGreaterThanOrEqual(1);
    expect(after).toContain('# TYPE nest_keyring_cache_evictions gauge');
    expect(sample(after, 'nest_keyring_cache_evictions')).toBe(0);
    expect(delta('nest_keyring_requests_refused_total', tenantRefused)).toBe(1);
    expect(delta('nest_keyring_key_lookups_total', { source: 'store', outcome: 'found' })).toBe(1);
    expect(delta('nest_keyring_key_lookups_total', { source: 'cache', outcome: 'found' })).toBe(3);
    expect(delta('nest_keyring_store_lookup_duration_seconds_count', { outcome: 'found' })).toBe(1);
    expect(after).not.toContain(key);
    expect(after).not.toContain(row.id);
  });

  it('counts webhooks verified and refused by reason', async () => {
    const before = await scrape();
    const gateway = () => request(server).post('/webhooks/gateway').set('Content-Type', 'application/json');
    expect((await gateway().set('Authorization', `Bearer ${WEBHOOK_SECRET}`).send('{}')).status).toBe(200);
    expect(
      (
        await gateway()
          .set('Authorization', `Bearer ${'x'.repeat(32)}`)
          .send('{}')
      ).status,
    ).toBe(401);
    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      sample(after, 'nest_keyring_webhooks_total', labels) - sample(before, 'nest_keyring_webhooks_total', labels);
    expect(delta({ outcome: 'verified' })).toBe(1);
    expect(delta({ outcome: 'refused', reason: 'webhook_secret_invalid' })).toBe(1);
    expect(after).not.toContain(WEBHOOK_SECRET);
  });
});

import { describe, expect, it } from '@jest/globals';
import { Controller, Get, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyGuard, ApiKeyModule, CurrentApiKey } from '../lib/index.js';
import { demoRecords, InMemoryLookup, KEYS } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, HandlerLog } from './fixtures/test-app.js';

@Controller()
class C {
  constructor(private readonly handlers: HandlerLog) {}
  @UseGuards(ApiKeyGuard)
  @Get('p')
  p(@CurrentApiKey('id') id: string) { this.handlers.ran('p'); return { id }; }
}

describe.each(ADAPTERS)('smoke on %s', (adapter) => {
  it('works', async () => {
    const t = await createTestApp(adapter, { imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(demoRecords()) })], controllers: [C] });
    const ok = await request(t.app.getHttpServer()).get('/p').set('Authorization', `Bearer ${KEYS.production}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ id: 'key-prod' });
    const no = await request(t.app.getHttpServer()).get('/p');
    expect(no.status).toBe(401);
    expect(no.headers['www-authenticate']).toBe('Bearer');
    expect(no.body.error.code).toBe('AUTHENTICATION_REQUIRED');
    expect(t.handlers.calls).toEqual(['p']);
    await t.close();
  });
});

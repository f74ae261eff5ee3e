import { describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
// The built package, as users get it: dist/esm in the ESM project, dist/cjs in the CommonJS one
// (see moduleNameMapper in jest.config.js). `npm test` builds it first.
import { ApiKeyModule, CurrentApiKey, Public } from 'nest-keyring';
import { InMemoryLookup, KEYS } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, HandlerLog } from './fixtures/test-app.js';

@Controller()
class MeController {
  constructor(private readonly handlers: HandlerLog) {}
  @Get('me')
  me(@CurrentApiKey('id') id: string) {
    this.handlers.ran('me');
    return { id };
  }
  @Public()
  @Get('health')
  health() {
    return { ok: true };
  }
}

describe.each(ADAPTERS)('the built package on %s', (adapter) => {
  it('protects a Nest app', async () => {
    const test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), global: true })],
      controllers: [MeController],
    });
    try {
      const server = test.app.getHttpServer();
      const refused = await request(server).get('/me');
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
      expect(test.handlers.calls).toEqual([]);
      expect((await request(server).get('/health')).status).toBe(200);
      const granted = await request(server).get('/me').set('Authorization', `Bearer ${KEYS.production}`);
      expect(granted.status).toBe(200);
      expect(granted.body).toEqual({ id: 'key-prod' });
      expect(test.handlers.calls).toEqual(['me']);
    } finally {
      await test.close();
    }
  });
});

describe('loading the package in plain Node', () => {
  const node = (args: string[]) => execFileSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim();

  it('loads with require() from CommonJS', () => {
    expect(node(['-e', "const k = require('nest-keyring'); console.log(typeof k.ApiKeyModule, typeof k.ApiKeyGuard)"])).toBe('function function');
  });

  it('loads with import from an ES module', () => {
    expect(node(['--input-type=module', '-e', "const k = await import('nest-keyring'); console.log(typeof k.ApiKeyModule, typeof k.ApiKeyGuard)"])).toBe(
      'function function',
    );
  });
});

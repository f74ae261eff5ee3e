import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
// The built package, as users get it: dist/esm in the ESM project, dist/cjs in the CommonJS one
// (see moduleNameMapper in jest.config.js). `npm test` builds it first.
import { ApiKeyModule, CurrentApiKey, Public } from 'nest-keyring';
import { InMemoryLookup, KEYS } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, HandlerLog } from './fixtures/test-app.js';
import { CHILD_NODE_OPTIONS, runNode } from './support/child-env.js';

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
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(), protectAllRoutes: true })],
      controllers: [MeController],
    });
    try {
      const server = test.app.getHttpServer();
      const refused = await request(server).get('/me');
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
      });
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
  it('loads with require() from CommonJS', () => {
    expect(
      runNode(['-e', "const k = require('nest-keyring'); console.log(typeof k.ApiKeyModule, typeof k.ApiKeyGuard)"]),
    ).toBe('function function');
  });

  it('loads with import from an ES module', () => {
    expect(
      runNode([
        '--input-type=module',
        '-e',
        "const k = await import('nest-keyring'); console.log(typeof k.ApiKeyModule, typeof k.ApiKeyGuard)",
      ]),
    ).toBe('function function');
  });
});

describe('the package.json users install', () => {
  it('makes every peer optional: an app without Nest installs nothing of it', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
    const peers = Object.keys(manifest.peerDependencies).sort();
    expect(peers).toEqual(expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs']));
    expect(peers.filter((name) => manifest.peerDependenciesMeta[name]?.optional !== true)).toEqual([]);
  });
});

describe('nest-keyring/express in an app without Nest', () => {
  // An app folder whose node_modules holds only the built package, as `npm install` would lay
  // it out: nothing under @nestjs (nor rxjs, nor reflect-metadata) can be resolved from it.
  const root = process.cwd();
  let app = '';
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'keyring-express-'));
    const installed = join(app, 'node_modules', 'nest-keyring');
    mkdirSync(installed, { recursive: true });
    cpSync(join(root, 'package.json'), join(installed, 'package.json'));
    cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
    cpSync(join(root, 'express'), join(installed, 'express'), { recursive: true });
    cpSync(join(root, 'test', 'fixtures', 'express-entry-app.mjs'), join(app, 'server.mjs'));
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it.each(['import', 'require'])(
    'serves a request through the middleware, loaded with %s, without loading @nestjs',
    (mode) => {
      const output = execFileSync(process.execPath, [join(app, 'server.mjs'), mode], {
        cwd: app,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: app,
          NODE_PATH: '',
          NODE_OPTIONS: CHILD_NODE_OPTIONS,
          EXPRESS_PATH: join(root, 'node_modules', 'express'),
        },
      });
      expect(JSON.parse(output)).toEqual({
        unresolvable: { require: true, import: true },
        refused: { status: 401, code: 'AUTHENTICATION_REQUIRED' },
        granted: { status: 200, body: { key: 'key-1', tenant: 7 } },
        loaded: [],
      });
    },
  );

  // Nest is an optional peer: an app that loads the root entry without it is told what to install.
  it.each([
    [
      'require',
      "require('nest-keyring')",
      /nest-keyring needs @nestjs\/common, @nestjs\/core, reflect-metadata, rxjs for Nest apps: npm install @nestjs\/common @nestjs\/core reflect-metadata rxjs\. Apps without Nest import 'nest-keyring\/express'\./,
    ],
    ['import', "await import('nest-keyring')", /ERR_MODULE_NOT_FOUND[\s\S]*Cannot find package '@nestjs\/common'/],
  ])('refuses the root entry loaded with %s, naming what is missing', (mode, code, message) => {
    const run = spawnSync(
      process.execPath,
      ['--input-type=' + (mode === 'import' ? 'module' : 'commonjs'), '-e', code],
      {
        cwd: app,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: app, NODE_PATH: '', NODE_OPTIONS: CHILD_NODE_OPTIONS },
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { Agent, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyAuth, ApiKeyModule, TenantContext, type ApiKeyRecord } from '../lib/index.js';
import { InMemoryLookup, withChecksum } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, HandlerLog, type TestApp } from './fixtures/test-app.js';

// Every request of a keep-alive connection runs its callbacks on the connection's one async
// resource. A tenant scope one request's guard entered must not still be current when the next
// request on that connection reaches a route no guard protects.
const KEY_A = withChecksum('pk_keepalive_a_1a2b3c');
const KEY_B = withChecksum('pk_keepalive_b_4d5e6f');
const RECORDS: Record<string, ApiKeyRecord> = {
  [KEY_A]: { id: 'key-a', tenants: [{ id: 'tenant-a' }] },
  [KEY_B]: { id: 'key-b', tenants: [{ id: 'tenant-b' }] },
};

@Controller('connection')
class ConnectionController {
  constructor(
    private readonly tenants: TenantContext,
    private readonly handlers: HandlerLog,
  ) {}

  @ApiKeyAuth()
  @Get('guarded')
  guarded() {
    this.handlers.ran('guarded');
    return { tenant: this.tenants.find()?.id ?? null };
  }

  // No guard at all: the app does not protect every route.
  @Get('open')
  open() {
    this.handlers.ran('open');
    return { tenant: this.tenants.find()?.id ?? null };
  }
}

interface Answer {
  status: number;
  body: unknown;
  reusedSocket: boolean;
}

function get(port: number, agent: Agent, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path, agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text), reusedSocket: outgoing.reusedSocket }),
      );
    });
    outgoing.on('error', reject);
    outgoing.setTimeout(5000, () => outgoing.destroy(new Error(`GET ${path} timed out`)));
    outgoing.end();
  });
}

describe.each(ADAPTERS)('one keep-alive connection, on %s', (adapter) => {
  let test: TestApp | undefined;
  let agent: Agent | undefined;
  afterEach(async () => {
    agent?.destroy();
    await test?.close();
    test = agent = undefined;
  });

  it("never shows a guarded request's tenant to the next request on the connection", async () => {
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS) })],
      controllers: [ConnectionController],
    });
    const server = test.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    agent = new Agent({ keepAlive: true, maxSockets: 1 });

    const answers = [
      await get(port, agent, '/connection/guarded', { authorization: `Bearer ${KEY_A}` }),
      await get(port, agent, '/connection/open'),
      await get(port, agent, '/connection/guarded', { authorization: `Bearer ${KEY_B}` }),
      await get(port, agent, '/connection/open'),
      await get(port, agent, '/connection/guarded'),
      await get(port, agent, '/connection/open'),
    ];

    expect(answers.map(({ status, body }) => [status, body])).toEqual([
      [200, { tenant: 'tenant-a' }],
      [200, { tenant: null }],
      [200, { tenant: 'tenant-b' }],
      [200, { tenant: null }],
      [401, expect.objectContaining({ success: false })],
      [200, { tenant: null }],
    ]);
    // One connection served them all.
    expect(answers.slice(1).every((answer) => answer.reusedSocket)).toBe(true);
    expect(test.handlers.calls).toEqual(['guarded', 'open', 'guarded', 'open', 'open']);
  });
});

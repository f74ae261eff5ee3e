import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import { ApiKeyModule, WebhookSecret } from '../lib/index.js';
import { ADAPTERS, type TestApp } from './fixtures/test-app.js';
import { webhookController } from './fixtures/routes-controller.js';
import { createWebhookTestApp, expectNoSecretLeaked, NO_KEYS, testSecretMiddleware } from './fixtures/webhook-app.js';
import { linesNamed, postRaw, type RawResponse } from './fixtures/webhook-raw-request.js';
import { SIGNING_SECRETS, signedHeaders, WEBHOOK_SECRETS, webhookSecretsOption } from './fixtures/webhook-secrets.js';

const BODY = '{"type":"message.received","data":{"text":"Merhaba"}}';
const RIGHT = `Bearer ${WEBHOOK_SECRETS.connexease}`;
const WRONG = `Bearer ${WEBHOOK_SECRETS.stranger}`;

const WebhookRoutesController = webhookController('WebhookRoutesController', '', [
  { path: 'webhook' },
  { path: 'events', decorators: [WebhookSecret('events')] },
]);

@Controller()
class EchoController {
  /** Unguarded: shows what arrived on the wire (Express's request is Node's; Fastify's keeps it in `raw`). */
  @HttpCode(200)
  @Post('echo')
  echo(@Req() request: { rawHeaders?: string[]; raw?: { rawHeaders: string[] } }) {
    return { rawHeaders: request.rawHeaders ?? request.raw?.rawHeaders };
  }
}

/** A Bearer secret sent on two `Authorization` lines, in the ways a proxy and Node could read differently. */
const BEARER_CASES: [string, Record<string, string[]>][] = [
  ['the right secret twice', { Authorization: [RIGHT, RIGHT] }],
  ['a wrong secret, then the right one', { Authorization: [WRONG, RIGHT] }],
  ['the right secret, then a wrong one', { Authorization: [RIGHT, WRONG] }],
  ['the right secret, then an empty line', { Authorization: [RIGHT, ''] }],
];

/** A correctly signed delivery with one of its headers sent on a second line too. */
function signedWithRepeat(
  name: 'webhook-id' | 'webhook-timestamp' | 'webhook-signature',
  second: 'same' | 'junk',
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {
    'Content-Type': 'application/json',
    ...signedHeaders(SIGNING_SECRETS.current, BODY),
  };
  const first = headers[name] as string;
  // Junk first, the good value last: Node's ", " join would let a good signature through.
  headers[name] = second === 'same' ? [first, first] : ['v1,bm90IGEgc2lnbmF0dXJlIGF0IGFsbCBub3QgYXQgYWxs', first];
  return headers;
}

const SIGNED_CASES: [string, Record<string, string | string[]>][] = [
  ['webhook-signature twice', signedWithRepeat('webhook-signature', 'same')],
  ['a junk webhook-signature line before the good one', signedWithRepeat('webhook-signature', 'junk')],
  ['webhook-id twice', signedWithRepeat('webhook-id', 'same')],
  ['webhook-timestamp twice', signedWithRepeat('webhook-timestamp', 'same')],
];

function expectMalformed(response: RawResponse, code: string, challenge: string): void {
  expect({
    status: response.status,
    code: response.body?.error?.code,
    challenge: response.headers['www-authenticate'],
  }).toEqual({ status: 401, code, challenge });
  expect(response.body?.success).toBe(false);
}

/** Log lines above `log` level: a refusal of a malformed header is no event worth a warning. */
const complaintsIn = (lines: readonly string[]) => lines.filter((line) => !line.startsWith('log '));

/** What each host must do with headers sent on two lines; `host()` gives its server, what ran and what it logged. */
function itTakesOneLineOfEach(host: () => { server: Server; ran: readonly string[]; logged: readonly string[] }) {
  it('really sends two lines, which the request shows in rawHeaders', async () => {
    const response = await postRaw(host().server, '/echo', {
      Authorization: [WRONG, RIGHT],
      'webhook-signature': ['a', 'b'],
    });
    const rawHeaders = response.body?.rawHeaders as string[];
    expect({
      authorization: linesNamed(rawHeaders, 'authorization'),
      signature: linesNamed(rawHeaders, 'webhook-signature'),
    }).toEqual({ authorization: 2, signature: 2 });
  });

  it('accepts the same requests with each header on one line', async () => {
    const { server } = host();
    expect((await postRaw(server, '/webhook', { Authorization: RIGHT })).status).toBe(200);
    const signed = { 'Content-Type': 'application/json', ...signedHeaders(SIGNING_SECRETS.current, BODY) };
    expect((await postRaw(server, '/events', signed, BODY)).status).toBe(200);
    expect(host().ran).toEqual(['webhook', 'events']);
  });

  it.each(BEARER_CASES)(
    'refuses %s in Authorization as malformed: 401 INVALID_WEBHOOK_SECRET (invalid_request)',
    async (_, headers) => {
      const response = await postRaw(host().server, '/webhook', headers);
      expectMalformed(response, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_request"');
      expect(host().ran).toEqual([]);
      expect(complaintsIn(host().logged)).toEqual([]);
      expectNoSecretLeaked({ text: response.text, headers: response.headers } as never, host().logged);
    },
  );

  it.each(SIGNED_CASES)('refuses %s on a signed route: 401 INVALID_WEBHOOK_SIGNATURE', async (_, headers) => {
    const response = await postRaw(host().server, '/events', headers, BODY);
    expectMalformed(response, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
    expect(host().ran).toEqual([]);
    expect(complaintsIn(host().logged)).toEqual([]);
  });
}

describe.each(ADAPTERS)('webhook headers sent on more than one line, on Nest with %s', (adapter) => {
  let test: TestApp;
  let server: Server;
  beforeAll(async () => {
    test = await createWebhookTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption() })],
      controllers: [WebhookRoutesController, EchoController],
    });
    server = test.app.getHttpServer() as Server;
  });
  afterAll(() => test.close());
  beforeEach(() => {
    test.handlers.calls.length = 0;
    test.logger.lines.length = 0;
  });

  itTakesOneLineOfEach(() => ({ server, ran: test.handlers.calls, logged: test.logger.lines }));
});

describe('webhook headers sent on more than one line, on plain Express', () => {
  const ran: string[] = [];
  const logged: string[] = [];
  const logger = { error: (line: string) => logged.push(line), warn: (line: string) => logged.push(line) };
  const app = express();
  app.post('/webhook', testSecretMiddleware(logger, 'default'), (_req, res) => {
    ran.push('webhook');
    res.sendStatus(200);
  });
  app.post('/events', express.raw({ type: 'application/json' }), testSecretMiddleware(logger), (_req, res) => {
    ran.push('events');
    res.sendStatus(200);
  });
  app.post('/echo', (req, res) => {
    res.json({ rawHeaders: req.rawHeaders });
  });
  let server: Server;
  beforeAll(async () => {
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    ran.length = 0;
    logged.length = 0;
  });

  itTakesOneLineOfEach(() => ({ server, ran, logged }));
});

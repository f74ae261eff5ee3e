/**
 * Deliveries from services that send through Svix: `svix-id`, `svix-timestamp` and
 * `svix-signature`, signed by the `svix` package itself, on the conformance hosts (Nest on Express
 * and on Fastify, plain Express, Nest with MiddlewareConsumer), route `events` (Standard Webhooks
 * secrets). The `svix` package ships only an ES module, which Jest's CommonJS runtime cannot
 * require, so this spec runs in the ES-module project only; the check is in core, the same for
 * every Nest major.
 */
import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Webhook } from 'svix';
import { hostForSuite, HOSTS } from './conformance/conformance-hosts.js';
import { SIGNING_SECRETS, signedHeaders } from './fixtures/webhook-secrets.js';

const BODY = '{"type":"invoice.paid","data":{"id":"in_1","amount":4200}}';

/** The headers a Svix sender puts on a delivery, signed by the `svix` package. */
function svixHeaders(secret: string, body: string, at = new Date()): Record<string, string> {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  return {
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
    'svix-signature': new Webhook(secret).sign(id, at, body),
  };
}

describe.each(HOSTS)('deliveries signed by the svix package, on %s', (hostName) => {
  const host = hostForSuite(hostName, 'cubeconnect');

  const deliver = (headers: Record<string, string>, body = BODY) =>
    request(host().server)
      .post('/webhook/signed')
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(body);
  const expectRefused = (response: request.Response, code: string) => {
    expect({
      status: response.status,
      code: response.body?.error?.code,
      challenge: response.headers['www-authenticate'],
    }).toEqual({ status: 401, code, challenge: 'Webhook-Signature realm="api"' });
    expect(host().handlers).toEqual([]);
  };

  it('runs the handler for a delivery svix signed, with either secret of a rotation', async () => {
    for (const secret of [SIGNING_SECRETS.current, SIGNING_SECRETS.previous]) {
      const headers = svixHeaders(secret, BODY);
      // The svix package agrees the delivery is good: both sides read the same scheme.
      expect(new Webhook(secret).verify(BODY, headers)).toBeUndefined();
      expect((await deliver(headers)).status).toBe(200);
    }
    expect(host().handlers).toEqual(['webhook/signed', 'webhook/signed']);
  });

  it('refuses a tampered body: 401 INVALID_WEBHOOK_SIGNATURE, handler not run', async () => {
    expectRefused(
      await deliver(svixHeaders(SIGNING_SECRETS.current, BODY), BODY.replace('4200', '1')),
      'INVALID_WEBHOOK_SIGNATURE',
    );
  });

  it('refuses a delivery signed with a secret not configured', async () => {
    expectRefused(await deliver(svixHeaders(SIGNING_SECRETS.stranger, BODY)), 'INVALID_WEBHOOK_SIGNATURE');
  });

  it('refuses a stale svix-timestamp: 401 INVALID_WEBHOOK_TIMESTAMP', async () => {
    const stale = svixHeaders(SIGNING_SECRETS.current, BODY, new Date(Date.now() - 600_000));
    expectRefused(await deliver(stale), 'INVALID_WEBHOOK_TIMESTAMP');
  });

  it('says what is missing when an svix header is left out', async () => {
    const { 'svix-signature': _, ...partial } = svixHeaders(SIGNING_SECRETS.current, BODY);
    expectRefused(await deliver(partial), 'WEBHOOK_SIGNATURE_REQUIRED');
  });

  it('refuses both sets at once, each good on its own, like a repeated header', async () => {
    const both = { ...svixHeaders(SIGNING_SECRETS.current, BODY), ...signedHeaders(SIGNING_SECRETS.current, BODY) };
    expectRefused(await deliver(both), 'INVALID_WEBHOOK_SIGNATURE');
  });

  it('refuses an svix-signature sent on two lines, even when one of them is good', async () => {
    const headers = svixHeaders(SIGNING_SECRETS.current, BODY);
    const response = await request(host().server)
      .post('/webhook/signed')
      .set({
        'Content-Type': 'application/json',
        ...headers,
        'svix-signature': [headers['svix-signature']!, headers['svix-signature']!],
      })
      .send(BODY);
    expectRefused(response, 'INVALID_WEBHOOK_SIGNATURE');
  });
});

import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { SIGNING_SECRETS, signedHeaders } from '../../../fixtures/webhook-secrets.js';
import { createSignatureCheck } from '../../../../lib/core/webhooks/webhook-signature.js';

const key = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
const BODY = '{"type":"message.received","data":{"from":"905321234567","text":"Merhaba 👋"}}';
const check = createSignatureCheck([key(SIGNING_SECRETS.previous), key(SIGNING_SECRETS.current)], 300);
// `null`: no adapter kept the raw body.
const verify = (headers: Record<string, unknown>, body: string | Uint8Array | null = BODY) =>
  check({ headers, rawBody: typeof body === 'string' ? Buffer.from(body) : (body ?? undefined) }, Date.now());
const refused = (reason: string) => ({ ok: false, failure: { reason } });

describe('createSignatureCheck (Standard Webhooks)', () => {
  it('accepts what the standardwebhooks package signs, with either secret of a rotation', () => {
    expect(verify(signedHeaders(SIGNING_SECRETS.current, BODY))).toEqual({ ok: true });
    expect(verify(signedHeaders(SIGNING_SECRETS.previous, BODY))).toEqual({ ok: true });
  });

  it('accepts a header with several signatures when one matches', () => {
    const stranger = signedHeaders(SIGNING_SECRETS.stranger, BODY)['webhook-signature'];
    const good = signedHeaders(SIGNING_SECRETS.current, BODY);
    expect(verify({ ...good, 'webhook-signature': `v1a,c2lnbmVk ${stranger} ${good['webhook-signature']}` })).toEqual({
      ok: true,
    });
  });

  it('checks the exact bytes: a body that is not UTF-8 verifies as sent', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    const mac = createHmac('sha256', key(SIGNING_SECRETS.current))
      .update(Buffer.concat([Buffer.from(`msg_1.${headers['webhook-timestamp']}.`), bytes]))
      .digest('base64');
    expect(verify({ ...headers, 'webhook-signature': `v1,${mac}` }, bytes)).toEqual({ ok: true });
    expect(verify({ ...headers, 'webhook-signature': `v1,${mac}` }, Buffer.from(bytes.toString('utf8')))).toEqual(
      refused('webhook_signature_invalid'),
    );
  });

  it.each([
    ['a tampered body', BODY.replace('Merhaba', 'Merhabа')],
    ['a re-serialised body', JSON.stringify(JSON.parse(BODY), null, 2)],
    ['a body with a trailing newline', `${BODY}\n`],
    ['an empty body', ''],
  ])('refuses %s', (_, body) => {
    expect(verify(signedHeaders(SIGNING_SECRETS.current, BODY), body)).toEqual(refused('webhook_signature_invalid'));
  });

  it('refuses a signature made with another secret', () => {
    expect(verify(signedHeaders(SIGNING_SECRETS.stranger, BODY))).toEqual(refused('webhook_signature_invalid'));
  });

  it.each<[string, (headers: Record<string, string>) => Record<string, string>]>([
    ['another webhook-id', (h) => ({ ...h, 'webhook-id': 'msg_other' })],
    ['another timestamp', (h) => ({ ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) - 1) })],
    ['a v2 signature', (h) => ({ ...h, 'webhook-signature': h['webhook-signature']!.replace('v1,', 'v2,') })],
    ['a signature without a version', (h) => ({ ...h, 'webhook-signature': h['webhook-signature']!.slice(3) })],
    ['a truncated signature', (h) => ({ ...h, 'webhook-signature': h['webhook-signature']!.slice(0, -4) })],
    [
      'signatures joined by commas',
      (h) => ({ ...h, 'webhook-signature': `${h['webhook-signature']},${h['webhook-signature']}` }),
    ],
  ])('refuses %s', (_, change) => {
    expect(verify(change(signedHeaders(SIGNING_SECRETS.current, BODY)))).toEqual(refused('webhook_signature_invalid'));
  });

  it.each([
    ['six minutes old', -360],
    ['six minutes ahead', 360],
  ])('refuses a timestamp %s', (_, seconds) => {
    const at = new Date(Date.now() + seconds * 1000);
    expect(verify(signedHeaders(SIGNING_SECRETS.current, BODY, { at }))).toEqual(refused('webhook_timestamp_invalid'));
  });

  it.each([
    ['four minutes old', -240],
    ['four minutes ahead', 240],
  ])('accepts a timestamp %s', (_, seconds) => {
    const at = new Date(Date.now() + seconds * 1000);
    expect(verify(signedHeaders(SIGNING_SECRETS.current, BODY, { at }))).toEqual({ ok: true });
  });

  it.each(['1.7e9', '0x6553f100', '-1', ' 1700000000', 'now', '17000000000000000'])(
    'refuses the timestamp %j',
    (timestamp) => {
      expect(verify({ ...signedHeaders(SIGNING_SECRETS.current, BODY), 'webhook-timestamp': timestamp })).toEqual(
        refused('webhook_timestamp_invalid'),
      );
    },
  );

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])(
    'says missing without %s, or with it empty',
    (name) => {
      const headers: Record<string, string> = signedHeaders(SIGNING_SECRETS.current, BODY);
      expect(verify({ ...headers, [name]: '' })).toEqual(refused('webhook_signature_missing'));
      delete headers[name];
      expect(verify(headers)).toEqual(refused('webhook_signature_missing'));
    },
  );

  it('refuses headers that are not strings', () => {
    const headers = signedHeaders(SIGNING_SECRETS.current, BODY);
    expect(verify({ ...headers, 'webhook-signature': [headers['webhook-signature']] })).toEqual(
      refused('webhook_signature_invalid'),
    );
  });

  it('checks the timestamp before it needs the body', () => {
    const stale = signedHeaders(SIGNING_SECRETS.current, BODY, { at: new Date(Date.now() - 3_600_000) });
    expect(verify({ ...stale, 'content-length': '80' }, null)).toEqual(refused('webhook_timestamp_invalid'));
  });

  it(
    'refuses a declared body that was not kept like a bad signature, marked for the set-up warning, never ' +
      'guessing',
    () => {
      const headers = signedHeaders(SIGNING_SECRETS.current, BODY);
      for (const declared of [{ 'content-length': String(BODY.length) }, { 'transfer-encoding': 'chunked' }]) {
        expect(verify({ ...headers, ...declared }, null)).toEqual({
          ok: false,
          failure: { reason: 'webhook_signature_invalid' },
          rawBodyMissing: true,
        });
      }
    },
  );

  it('refuses a signature header sent on two lines, even when one of them is good', () => {
    const headers = signedHeaders(SIGNING_SECRETS.current, BODY);
    const lines = (repeated: string) => [
      ...Object.entries(headers).flat(),
      repeated.toUpperCase(),
      headers[repeated as keyof typeof headers],
    ];
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(check({ headers, rawBody: Buffer.from(BODY), rawHeaders: lines(name) }, Date.now())).toEqual(
        refused('webhook_signature_invalid'),
      );
    }
    expect(
      check({ headers, rawBody: Buffer.from(BODY), rawHeaders: Object.entries(headers).flat() }, Date.now()),
    ).toEqual({ ok: true });
  });

  describe('under the svix-* names Svix senders use', () => {
    const svix = (headers: Record<string, string>) =>
      Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.replace('webhook-', 'svix-'), value]));

    it('accepts a delivery signed under svix-* names, and refuses it tampered', () => {
      expect(verify(svix(signedHeaders(SIGNING_SECRETS.current, BODY)))).toEqual({ ok: true });
      expect(verify(svix(signedHeaders(SIGNING_SECRETS.current, BODY)), `${BODY} `)).toEqual(
        refused('webhook_signature_invalid'),
      );
      const stale = signedHeaders(SIGNING_SECRETS.current, BODY, { at: new Date(Date.now() - 600_000) });
      expect(verify(svix(stale))).toEqual(refused('webhook_timestamp_invalid'));
    });

    it.each(['svix-id', 'svix-timestamp', 'svix-signature'])('says missing without %s', (name) => {
      const headers = svix(signedHeaders(SIGNING_SECRETS.current, BODY));
      delete headers[name];
      expect(verify(headers)).toEqual(refused('webhook_signature_missing'));
    });

    it.each([
      ['both full sets, each good', (good: Record<string, string>) => ({ ...good, ...svix(good) })],
      ['a good set plus one header of the other', (good: Record<string, string>) => ({ ...good, 'svix-id': 'x' })],
      [
        'a good svix set plus an empty webhook-id',
        (good: Record<string, string>) => ({ ...svix(good), 'webhook-id': '' }),
      ],
    ])('refuses %s like a repeated header', (_, mix) => {
      expect(verify(mix(signedHeaders(SIGNING_SECRETS.current, BODY)))).toEqual(refused('webhook_signature_invalid'));
    });

    it('refuses an svix header sent on two lines', () => {
      const headers = svix(signedHeaders(SIGNING_SECRETS.current, BODY));
      const rawHeaders = [...Object.entries(headers).flat(), 'Svix-Signature', headers['svix-signature']!];
      expect(check({ headers, rawBody: Buffer.from(BODY), rawHeaders }, Date.now())).toEqual(
        refused('webhook_signature_invalid'),
      );
    });
  });

  it('verifies a request without a body against the empty body', () => {
    const headers = signedHeaders(SIGNING_SECRETS.current, '');
    expect(verify(headers, null)).toEqual({ ok: true });
    expect(verify({ ...headers, 'content-length': '0' }, null)).toEqual({ ok: true });
    expect(verify(signedHeaders(SIGNING_SECRETS.current, '{}'), null)).toEqual(refused('webhook_signature_invalid'));
  });
});

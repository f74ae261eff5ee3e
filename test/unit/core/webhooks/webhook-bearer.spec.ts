import { describe, expect, it } from '@jest/globals';
import { oneCharacterOff, WEBHOOK_SECRETS } from '../../../fixtures/webhook-secrets.js';
import { createBearerCheck, readWebhookBearer } from '../../../../lib/core/webhooks/webhook-bearer.js';

const SECRET = WEBHOOK_SECRETS.connexease;

describe('readWebhookBearer', () => {
  it.each([
    ['Bearer', `Bearer ${SECRET}`],
    ['bearer', `bearer ${SECRET}`],
    ['BEARER', `BEARER ${SECRET}`],
    ['BeArEr', `BeArEr ${SECRET}`],
  ])('reads the secret after %s', (_, authorization) => {
    expect(readWebhookBearer({ authorization })).toEqual({ ok: true, secret: SECRET });
  });

  it('reads secrets with punctuation, as a dashboard may generate them', () => {
    expect(readWebhookBearer({ authorization: 'Bearer a!b#c$d%e&f*g+h=i?j@k[l]m{n}o~p|q' })).toEqual({
      ok: true,
      secret: 'a!b#c$d%e&f*g+h=i?j@k[l]m{n}o~p|q',
    });
  });

  it('says missing without an Authorization header', () => {
    expect(readWebhookBearer({ 'x-api-key': SECRET })).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_missing' },
    });
  });

  it('ignores an inherited Authorization', () => {
    const headers = Object.create({ authorization: `Bearer ${SECRET}` }) as Record<string, unknown>;
    expect(readWebhookBearer(headers)).toEqual({ ok: false, failure: { reason: 'webhook_secret_missing' } });
  });

  it.each<[string, unknown]>([
    ['an empty header', ''],
    ['Bearer alone', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['two spaces', `Bearer  ${SECRET}`],
    ['a tab', `Bearer\t${SECRET}`],
    ['a trailing space', `Bearer ${SECRET} `],
    ['two secrets', `Bearer ${SECRET} ${SECRET}`],
    ['Bearer glued to the secret', `Bearer${SECRET}`],
    ['the secret alone', SECRET],
    ['another scheme', `Basic ${SECRET}`],
    ['a repeated header', [`Bearer ${SECRET}`, `Bearer ${SECRET}`]],
    ['non-ASCII', `Bearer ${SECRET}é`],
    ['a 2 KiB secret', `Bearer ${'k'.repeat(2048)}`],
  ])('says malformed for %s', (_, authorization) => {
    expect(readWebhookBearer({ authorization })).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_malformed' },
    });
  });

  it('says malformed for Authorization sent on two lines, whichever line Node kept', () => {
    const authorization = `Bearer ${SECRET}`;
    for (const rawHeaders of [
      ['Authorization', authorization, 'authorization', authorization],
      ['Authorization', authorization, 'Host', 'x', 'AUTHORIZATION', 'Bearer other-secret-value'],
    ]) {
      expect(readWebhookBearer({ authorization }, rawHeaders)).toEqual({
        ok: false,
        failure: { reason: 'webhook_secret_malformed' },
      });
    }
    expect(readWebhookBearer({ authorization }, ['Authorization', authorization, 'X-API-KEY', 'x'])).toEqual({
      ok: true,
      secret: SECRET,
    });
  });
});

describe('createBearerCheck', () => {
  const verify = createBearerCheck([WEBHOOK_SECRETS.billingOld, WEBHOOK_SECRETS.billingNew]);
  const check = (headers: Record<string, unknown>) => verify({ headers });

  it('accepts each configured secret', () => {
    expect(check({ authorization: `Bearer ${WEBHOOK_SECRETS.billingOld}` })).toEqual({ ok: true });
    expect(check({ authorization: `bearer ${WEBHOOK_SECRETS.billingNew}` })).toEqual({ ok: true });
  });

  it.each([
    ['another secret', WEBHOOK_SECRETS.connexease],
    ['a secret one character off at the start', oneCharacterOff(WEBHOOK_SECRETS.billingNew, 'start')],
    ['a secret one character off at the end', oneCharacterOff(WEBHOOK_SECRETS.billingNew, 'end')],
    ['a prefix of a secret', WEBHOOK_SECRETS.billingNew.slice(0, -1)],
    ['a secret plus one character', `${WEBHOOK_SECRETS.billingNew}x`],
    ['both secrets joined', `${WEBHOOK_SECRETS.billingOld}${WEBHOOK_SECRETS.billingNew}`],
    ['a different case', WEBHOOK_SECRETS.billingNew.toLowerCase()],
  ])('refuses %s as invalid', (_, secret) => {
    expect(check({ authorization: `Bearer ${secret}` })).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_invalid' },
    });
  });

  it('passes on a missing or malformed header as such', () => {
    expect(check({})).toEqual({ ok: false, failure: { reason: 'webhook_secret_missing' } });
    expect(check({ authorization: `Bearer  ${WEBHOOK_SECRETS.billingOld}` })).toEqual({
      ok: false,
      failure: { reason: 'webhook_secret_malformed' },
    });
  });
});

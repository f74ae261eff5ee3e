import { describe, expect, it } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { checksumOf } from '../../../../lib/core/keys/api-key-checksum.js';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { KEYRING_CHANNELS } from '../../../../lib/core/admission/decision-events.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { isPending } from '../../../../lib/core/maybe-async.js';
import { admitRequest, type AdmissionInput } from '../../../../lib/core/admission/admit-request.js';
import { admissionOf, clientAddressOf, recordAdmission } from '../../../../lib/core/admission/request-admission.js';

const KEY = 'pk_admit_0a1b2c3d' + checksumOf('pk_admit_0a1b2c3d');
const RECORD: ApiKeyRecord = {
  id: 'k',
  tenants: [{ id: 1 }],
  scopes: ['read'],
  rateLimit: { limit: 2, windowMs: 60_000 },
};

function setUp() {
  const asked: string[] = [];
  const keyring = new Keyring({
    lookup: { findKey: async (key) => (asked.push(key), key === KEY ? RECORD : null) },
  });
  const input = (request: object, extra: Partial<AdmissionInput> = {}): AdmissionInput => ({
    request,
    headers: { 'x-api-key': KEY },
    rawHeaders: undefined,
    clientAddress: '127.0.0.1',
    requiredScopes: [],
    ...extra,
  });
  return { keyring, asked, input };
}

/** Runs `fn` with every `nest-keyring:admitted` and `:refused` message collected. */
async function observed(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const admitted = (message: unknown) => seen.push(`admitted ${(message as { keyId: string }).keyId}`);
  const refused = (message: unknown) => seen.push(`refused ${(message as { reason: string }).reason}`);
  subscribe(KEYRING_CHANNELS.admitted, admitted);
  subscribe(KEYRING_CHANNELS.refused, refused);
  try {
    await fn();
  } finally {
    unsubscribe(KEYRING_CHANNELS.admitted, admitted);
    unsubscribe(KEYRING_CHANNELS.refused, refused);
  }
  return seen;
}

describe('admitRequest', () => {
  it('decides a key the cache holds in the same call, records it on the request and publishes it once', async () => {
    const { keyring, input } = setUp();
    await admitRequest(keyring, input({}));
    const request: { apiKey?: ApiKeyRecord } = {};
    const seen = await observed(async () => {
      const decision = admitRequest(keyring, input(request));
      expect(isPending(decision)).toBe(false);
      expect(decision).toMatchObject({ ok: true, record: { id: 'k' }, tenant: { id: 1 } });
      // A second check of the same request reuses the admission: not counted, not published.
      expect(admitRequest(keyring, input(request))).toMatchObject({ ok: true, record: { id: 'k' } });
    });
    expect({ recorded: admissionOf(request)?.record.id, apiKey: request.apiKey?.id, seen }).toEqual({
      recorded: 'k',
      apiKey: 'k',
      seen: ['admitted k'],
    });
  });

  it('refuses a missing scope after recording the key, and publishes the refusal with it', async () => {
    const { keyring, input } = setUp();
    const request = {};
    const seen = await observed(async () => {
      const decision = await admitRequest(keyring, input(request, { requiredScopes: ['write'] }));
      expect(decision).toEqual({ ok: false, failure: expect.objectContaining({ reason: 'insufficient_scope' }) });
    });
    expect({ recorded: admissionOf(request)?.record.id, seen }).toEqual({
      recorded: 'k',
      seen: ['refused insufficient_scope'],
    });
  });

  it('counts the first unit of work as the admission and each further one against the limit', async () => {
    const { keyring, input } = setUp();
    const request = {};
    const units = [];
    for (let n = 0; n < 3; n++) units.push(await admitRequest(keyring, input(request, { unitOfWork: true })));
    expect(units.map((unit) => (unit.ok ? 'ok' : unit.failure.reason))).toEqual(['ok', 'ok', 'rate_limited']);
    // Checks that are no unit of work (a field resolver) reuse the admission, uncounted.
    expect((await admitRequest(keyring, input(request))).ok).toBe(true);
  });

  it('counts units that wait on one lookup once each; the first admission stands', async () => {
    const { keyring, input, asked } = setUp();
    const request = {};
    const units = await Promise.all([1, 2, 3].map(() => admitRequest(keyring, input(request, { unitOfWork: true }))));
    expect(units.map((unit) => unit.ok)).toEqual([true, true, false]);
    expect(asked).toEqual([KEY]);
    expect(units[1]).toMatchObject({ record: admissionOf(request)!.record, tenant: admissionOf(request)!.tenant });
  });

  it("takes an admission another check recorded as the request's first unit", async () => {
    const { keyring, input } = setUp();
    const request = {};
    recordAdmission(request, { record: RECORD, tenant: { id: 1 } });
    const units = [];
    for (let n = 0; n < 4; n++) units.push(await admitRequest(keyring, input(request, { unitOfWork: true })));
    // The first unit is the earlier admission (which counted itself); 2 more fit the limit.
    expect(units.map((unit) => unit.ok)).toEqual([true, true, true, false]);
  });

  it('refuses an unknown key without recording anything', async () => {
    const { keyring, input } = setUp();
    const request = {};
    const decision = await admitRequest(keyring, input(request, { headers: { 'x-api-key': 'pk_nope' } }));
    expect({ ok: decision.ok, recorded: admissionOf(request) }).toEqual({ ok: false, recorded: undefined });
  });
});

describe('clientAddressOf', () => {
  it("reads a connection's address once, through Fastify's wrapper too, and waits for one it has not yet", () => {
    let reads = 0;
    const peer: { address?: string } = {};
    const socket = {
      get remoteAddress() {
        reads++;
        return peer.address;
      },
    };
    const request = { raw: { socket } };
    expect(clientAddressOf(request)).toBeUndefined();
    peer.address = '127.0.0.9';
    expect([clientAddressOf(request), clientAddressOf({ socket }), clientAddressOf(request)]).toEqual([
      '127.0.0.9',
      '127.0.0.9',
      '127.0.0.9',
    ]);
    expect(reads).toBe(2);
    expect(clientAddressOf({ socket: null })).toBeUndefined();
  });
});

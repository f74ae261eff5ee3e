import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  CONFORMANCE_CASES,
  CONFORMANCE_KEYS,
  X_API_KEY_ONLY_CASES,
  type ConformanceCase,
  type Preset,
} from './conformance/conformance-cases.js';
import { ALL_WEBHOOK_SECRETS } from './fixtures/webhook-secrets.js';
import { HOSTS, hostForSuite, type Host } from './conformance/conformance-hosts.js';

/**
 * Every rule runs in the default vocabulary on every host. The other vocabulary changes only the
 * code a reason maps to (lib/core/error-format.spec.ts covers the mapping), so on HTTP it runs
 * the rules whose code differs between the two: enough to prove each host carries the preset.
 */
const RULES_BY_PRESET: Record<Preset, typeof CONFORMANCE_CASES> = {
  cubeconnect: CONFORMANCE_CASES,
  connexease: CONFORMANCE_CASES.filter(
    ({ expected }) => expected.code && expected.code.cubeconnect !== expected.code.connexease,
  ),
};

/** Sends one row's request to a host and checks every part of the answer. */
async function expectConformance(host: Host, preset: Preset, testCase: ConformanceCase): Promise<void> {
  const headers = typeof testCase.headers === 'function' ? testCase.headers() : testCase.headers;
  const send = () =>
    testCase.body === undefined
      ? request(host.server).get(testCase.path).set(headers)
      : request(host.server).post(testCase.path).set(headers).send(testCase.body);
  for (let i = 0; i < (testCase.before ?? 0); i++) await send();
  host.handlers.length = 0;
  const response = await send();
  const { expected } = testCase;
  const seen = {
    status: response.status,
    code: response.body?.error?.code,
    challenge: response.headers['www-authenticate'],
    ran: host.handlers.length > 0,
    keyId: response.status === 200 ? response.body.keyId : undefined,
    tenantId: response.status === 200 ? response.body.tenantId : undefined,
  };
  expect(seen).toEqual({
    status: expected.status,
    code: expected.code?.[preset],
    challenge: expected.challenge,
    ran: expected.ran,
    keyId: expected.keyId,
    tenantId: expected.tenantId,
  });
  // Rate-limit headers where a limit applies, and only there.
  for (const name of ['ratelimit-policy', 'ratelimit', 'retry-after']) {
    const pattern = expected.headers?.[name];
    if (pattern === undefined) expect(response.headers[name]).toBeUndefined();
    else expect(response.headers[name]).toMatch(pattern);
  }
  // Nothing a client sent as a key or a secret is ever echoed in an answer or a log line.
  const echoed = `${response.text} ${JSON.stringify(response.headers)} ${host.logs.join('\n')}`;
  for (const secret of [...Object.values(CONFORMANCE_KEYS), ...ALL_WEBHOOK_SECRETS])
    expect(echoed).not.toContain(secret);
  // A store fault is logged (without the key); an ordinary refusal is not (a debug line may
  // say which format rule refused a key).
  const logged = host.logs.filter((line) => !line.startsWith('debug'));
  if (expected.status === 503) expect(logged.join('\n')).toMatch(/API key lookup failed; answered 503/);
  else expect(logged).toEqual([]);
  if (expected.status === 200) {
    // The handler ran inside the same tenant's context.
    expect(response.body.tenantFromContext).toBe(expected.tenantId);
  } else {
    expect(response.body.success).toBe(false);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  }
}

// One table, every host: Nest on Express, Nest on Fastify, plain Express with the middleware,
// and Nest with the middleware applied through MiddlewareConsumer. A new rule is a new row.
describe(`conformance: ${CONFORMANCE_CASES.length} rules × ${HOSTS.length} hosts`, () => {
  describe.each(HOSTS)('%s', (hostName) => {
    describe.each(Object.keys(RULES_BY_PRESET) as Preset[])('%s errors', (preset) => {
      const host = hostForSuite(hostName, preset);

      it.each(RULES_BY_PRESET[preset].map((testCase) => [testCase.name, testCase] as const))('%s', (_, testCase) =>
        expectConformance(host(), preset, testCase),
      );
    });
  });
});

// Keys read from X-API-KEY only: the challenges name that header, on every host.
describe(`conformance, keys in X-API-KEY only: ${X_API_KEY_ONLY_CASES.length} rules × ${HOSTS.length} hosts`, () => {
  describe.each(HOSTS)('%s', (hostName) => {
    const host = hostForSuite(hostName, 'cubeconnect', { headers: ['x-api-key'] });
    it.each(X_API_KEY_ONLY_CASES.map((testCase) => [testCase.name, testCase] as const))('%s', (_, testCase) =>
      expectConformance(host(), 'cubeconnect', testCase),
    );
  });
});

it(`has at least 60 rows (has ${CONFORMANCE_CASES.length})`, () => {
  expect(CONFORMANCE_CASES.length).toBeGreaterThanOrEqual(60);
  expect(new Set(CONFORMANCE_CASES.map((testCase) => testCase.name)).size).toBe(CONFORMANCE_CASES.length);
});

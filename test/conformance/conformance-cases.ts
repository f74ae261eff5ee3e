import { withChecksum, KEYS } from '../fixtures/in-memory-lookup.js';
import { oneCharacterOff, signedHeaders, SIGNING_SECRETS, WEBHOOK_SECRETS } from '../fixtures/webhook-secrets.js';

export type Preset = 'cubeconnect' | 'connexease';

/** What every host must answer. `ran` says whether the route handler ran. */
export interface Outcome {
  status: number;
  /** The error code in each preset; absent for a success. */
  code?: Record<Preset, string>;
  /** `WWW-Authenticate`, or `undefined` when there must be none. */
  challenge?: string;
  ran: boolean;
  /** For a success: the record and tenant the handler saw (and read from TenantContext). */
  keyId?: string;
  tenantId?: string | number;
  /**
   * Response headers that must match; `RateLimit-Policy`, `RateLimit` and `Retry-After` must be
   * absent unless named here.
   */
  headers?: Record<string, RegExp>;
}

type Headers = Record<string, string | string[]>;

export interface ConformanceCase {
  name: string;
  /** GET for the API routes; POST with `body` for the webhook routes. */
  path: '/protected' | '/scoped' | '/webhook' | '/webhook/signed';
  /** A function where the headers depend on the time of the request (signatures). */
  headers: Headers | (() => Headers);
  body?: string;
  /** Identical requests sent first (e.g. to use up a rate limit); their answers are not checked. */
  before?: number;
  expected: Outcome;
}

export const CONFORMANCE_KEYS = {
  ...KEYS,
  multiTenant: withChecksum('pk_multitenant_5a6b7c'),
  noTenant: withChecksum('pk_notenant_8d9e0f'),
  withinLimit: withChecksum('pk_withinlimit_2b3c4d'),
  pastLimit: withChecksum('pk_pastlimit_5e6f7a'),
};

// The expected answers, spelled out once; rows below say which applies.
/** A refusal: `code` in each vocabulary (`connexease` defaults to `cubeconnect`'s), no handler run. */
const refused = (status: number, cubeconnect: string, connexease = cubeconnect, challenge?: string): Outcome => ({
  status,
  code: { cubeconnect, connexease },
  ...(challenge === undefined ? {} : { challenge }),
  ran: false,
});
const granted = (keyId: string, tenantId: string | number): Outcome => ({ status: 200, ran: true, keyId, tenantId });
const MISSING = refused(401, 'AUTHENTICATION_REQUIRED', 'AUTH_002', 'Bearer realm="api"');
const MALFORMED = refused(401, 'INVALID_API_KEY', 'AUTH_003', 'Bearer realm="api", error="invalid_request"');
const INVALID = refused(401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer realm="api", error="invalid_token"');
const NO_TENANT = refused(403, 'API_KEY_NO_TENANT');
const TENANT_NOT_FOUND = refused(403, 'TENANT_NOT_FOUND');
const INSUFFICIENT_SCOPE = refused(
  403,
  'INSUFFICIENT_SCOPE',
  'INSUFFICIENT_SCOPE',
  'Bearer realm="api", error="insufficient_scope", scope="messages:send"',
);
const UNAVAILABLE = refused(503, 'KEY_STORE_UNAVAILABLE');

const WITHIN_LIMIT: Outcome = {
  ...granted('key-within-limit', 1),
  headers: { 'ratelimit-policy': /^"key";q=100;w=3600$/, ratelimit: /^"key";r=99;t=(3600|3599)$/ },
};
const RATE_LIMITED: Outcome = {
  ...refused(429, 'RATE_LIMITED'),
  headers: {
    'retry-after': /^(3600|3599)$/,
    'ratelimit-policy': /^"key";q=2;w=3600$/,
    ratelimit: /^"key";r=0;t=(3600|3599)$/,
  },
};

const K = CONFORMANCE_KEYS;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const apiKey = (key: string) => ({ 'X-API-KEY': key });
const row = (
  name: string,
  headers: ConformanceCase['headers'],
  expected: Outcome,
  path: ConformanceCase['path'] = '/protected',
): ConformanceCase => ({
  name,
  path,
  headers,
  expected,
});

// Webhooks: `default` is a Bearer secret, `events` a Standard Webhooks signing secret.
const RECEIVED: Outcome = { status: 200, ran: true };
const webhookRefusal = (status: number, code: string, challenge?: string): Outcome => ({
  status,
  code: { cubeconnect: code, connexease: code },
  challenge,
  ran: false,
});
const SECRET_MISSING = webhookRefusal(401, 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"');
const SECRET_MALFORMED = webhookRefusal(401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_request"');
const SECRET_INVALID = webhookRefusal(401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_token"');
const SIGNATURE_MISSING = webhookRefusal(401, 'WEBHOOK_SIGNATURE_REQUIRED', 'Webhook-Signature realm="api"');
const SIGNATURE_INVALID = webhookRefusal(401, 'INVALID_WEBHOOK_SIGNATURE', 'Webhook-Signature realm="api"');
const TIMESTAMP_INVALID = webhookRefusal(401, 'INVALID_WEBHOOK_TIMESTAMP', 'Webhook-Signature realm="api"');
export const WEBHOOK_BODY = JSON.stringify({
  event: 'message.received',
  data: { from: '905321234567', text: 'Merhaba' },
});
const webhook = (name: string, headers: ConformanceCase['headers'], expected: Outcome): ConformanceCase => ({
  name,
  path: '/webhook',
  headers,
  body: WEBHOOK_BODY,
  expected,
});
const signed = (name: string, headers: () => Headers, expected: Outcome, body = WEBHOOK_BODY): ConformanceCase => ({
  name,
  path: '/webhook/signed',
  headers: () => ({ 'Content-Type': 'application/json', ...headers() }),
  body,
  expected,
});
const secret = WEBHOOK_SECRETS.connexease;

/** One row per rule; every host must give every row's answer, in both presets. */
export const CONFORMANCE_CASES: ConformanceCase[] = [
  // Keys that are granted, in every accepted form.
  row('Bearer key', bearer(K.production), granted('key-prod', 1)),
  row('bearer scheme in lower case', { Authorization: `bearer ${K.production}` }, granted('key-prod', 1)),
  row('BEARER scheme in upper case', { Authorization: `BEARER ${K.production}` }, granted('key-prod', 1)),
  row('X-API-KEY', apiKey(K.production), granted('key-prod', 1)),
  row('x-api-key header name in lower case', { 'x-api-key': K.production }, granted('key-prod', 1)),
  row('X-Api-Key header name in mixed case', { 'X-Api-Key': K.production }, granted('key-prod', 1)),
  row('both headers with the same key', { ...bearer(K.production), ...apiKey(K.production) }, granted('key-prod', 1)),
  row(
    'Basic Authorization plus X-API-KEY',
    { Authorization: 'Basic dXNlcjpwYXNz', ...apiKey(K.staging) },
    granted('key-stage', 2),
  ),
  row('empty Authorization plus X-API-KEY', { Authorization: '', ...apiKey(K.staging) }, granted('key-stage', 2)),
  row('staging key', bearer(K.staging), granted('key-stage', 2)),
  row('multi-tenant key, no tenant header: first tenant', bearer(K.multiTenant), granted('key-multi', 1)),
  row(
    'multi-tenant key, X-TENANT-ID names the second',
    { ...bearer(K.multiTenant), 'X-TENANT-ID': 'org-b' },
    granted('key-multi', 'org-b'),
  ),
  row(
    'multi-tenant key, X-TENANT-ID names the first',
    { ...bearer(K.multiTenant), 'X-TENANT-ID': '1' },
    granted('key-multi', 1),
  ),
  row(
    'tenant header name in lower case',
    { ...bearer(K.multiTenant), 'x-tenant-id': 'org-b' },
    granted('key-multi', 'org-b'),
  ),

  // No key.
  row('no headers', {}, MISSING),
  row('only unrelated headers', { Cookie: 'session=1', 'X-Api-Token': K.production }, MISSING),
  row('only a tenant header', { 'X-TENANT-ID': '1' }, MISSING),

  // Credentials not in an accepted form: refused before any lookup.
  row('Bearer with no token', { Authorization: 'Bearer' }, MALFORMED),
  row('two spaces after Bearer', { Authorization: `Bearer  ${K.production}` }, MALFORMED),
  row('a tab after Bearer', { Authorization: `Bearer\t${K.production}` }, MALFORMED),
  row('Bearer glued to the key', { Authorization: `Bearer${K.production}` }, MALFORMED),
  row('two tokens after Bearer', { Authorization: `Bearer ${K.production} ${K.production}` }, MALFORMED),
  row('Basic credentials alone', { Authorization: 'Basic dXNlcjpwYXNz' }, MALFORMED),
  row('the key with no scheme', { Authorization: K.production }, MALFORMED),
  row('Token scheme', { Authorization: `Token ${K.production}` }, MALFORMED),
  row('an unknown six-letter scheme', { Authorization: `Secret ${K.production}` }, MALFORMED),
  row('a double quote in the token', { Authorization: 'Bearer pk_a"b' }, MALFORMED),
  row('a semicolon in the token', { Authorization: 'Bearer pk_a;b' }, MALFORMED),
  row('a percent sign in the token', { Authorization: 'Bearer pk_a%41b' }, MALFORMED),
  row('a backslash in the token', { Authorization: 'Bearer pk_a\\b' }, MALFORMED),
  row('a comma in the token', { Authorization: `Bearer ${K.production},${K.staging}` }, MALFORMED),
  row('a latin-1 byte in the token', { Authorization: 'Bearer pk_caf\u00e9' }, MALFORMED),
  row('an empty X-API-KEY', { 'X-API-KEY': '' }, MALFORMED),
  row('a repeated X-API-KEY', { 'X-API-KEY': [K.production, K.production] }, MALFORMED),
  // Node keeps only the first Authorization line: a proxy reading the last would see another key.
  row(
    'Authorization on two lines, the same key',
    { Authorization: [`Bearer ${K.production}`, `Bearer ${K.production}`] },
    MALFORMED,
  ),
  row(
    'Authorization on two lines, another key second',
    { Authorization: [`Bearer ${K.production}`, `Bearer ${K.staging}`] },
    MALFORMED,
  ),
  row(
    'Authorization on two lines, a Basic line first',
    { Authorization: ['Basic dXNlcjpwYXNz', `Bearer ${K.production}`] },
    MALFORMED,
  ),
  row('an X-API-KEY one past the length bound', { 'X-API-KEY': `pk_${'a'.repeat(254)}` }, MALFORMED),
  row('an 8 KiB X-API-KEY', { 'X-API-KEY': `pk_${'a'.repeat(8192)}` }, MALFORMED),
  row('headers with different keys', { ...bearer(K.production), ...apiKey(K.staging) }, MALFORMED),
  row('a malformed Bearer beside a good X-API-KEY', { Authorization: 'Bearer  x', ...apiKey(K.production) }, MALFORMED),

  // Well-formed, but not a key we grant.
  row('an unknown key', bearer(K.unknown), INVALID),
  row('an expired key', bearer(K.expired), INVALID),
  row('a revoked key', bearer(K.revoked), INVALID),
  row('a key whose record names another environment', bearer(K.otherEnvironment), INVALID),
  row(
    'a real key with its last character changed',
    bearer(`${K.production.slice(0, -1)}${K.production.endsWith('A') ? 'B' : 'A'}`),
    INVALID,
  ),
  row('a real key plus one character', bearer(`${K.production}0`), INVALID),
  row('a real key without its checksum', bearer(K.production.slice(0, -6)), INVALID),
  row("a real key's prefix", bearer('pk_live_'), INVALID),
  row('an unknown environment prefix', bearer(withChecksum('xk_abcdef')), INVALID),
  row('an upper-case prefix', bearer(withChecksum('SK_abcdef')), INVALID),
  row('a dash for an underscore', bearer(withChecksum('sk-abcdef')), INVALID),
  row('a bare prefix', bearer('sk_'), INVALID),
  row('__proto__', apiKey('__proto__'), INVALID),
  row('constructor', apiKey('constructor'), INVALID),
  row('toString', apiKey('toString'), INVALID),
  row('a one-character key', apiKey('k'), INVALID),
  row('a key exactly at the length bound', apiKey('k'.repeat(256)), INVALID),
  row('an unknown key with a tenant header', { ...bearer(K.unknown), 'X-TENANT-ID': '999' }, INVALID),

  // Tenants.
  row('a tenant the key is not linked to', { ...bearer(K.multiTenant), 'X-TENANT-ID': '999' }, TENANT_NOT_FOUND),
  row("another key's tenant", { ...bearer(K.production), 'X-TENANT-ID': '2' }, TENANT_NOT_FOUND),
  row('an empty tenant header', { ...bearer(K.multiTenant), 'X-TENANT-ID': '' }, TENANT_NOT_FOUND),
  row('a tenant header on two lines', { ...bearer(K.multiTenant), 'X-TENANT-ID': ['1', 'org-b'] }, MALFORMED),
  row('the same tenant header on two lines', { ...bearer(K.multiTenant), 'X-TENANT-ID': ['1', '1'] }, MALFORMED),
  row('__proto__ as the tenant', { ...bearer(K.multiTenant), 'X-TENANT-ID': '__proto__' }, TENANT_NOT_FOUND),
  row('a wildcard tenant', { ...bearer(K.multiTenant), 'X-TENANT-ID': '*' }, TENANT_NOT_FOUND),
  row('a path as the tenant', { ...bearer(K.multiTenant), 'X-TENANT-ID': '../x' }, TENANT_NOT_FOUND),
  row('an oversized tenant header', { ...bearer(K.multiTenant), 'X-TENANT-ID': '1'.repeat(129) }, TENANT_NOT_FOUND),
  row('a tenant id in the wrong case', { ...bearer(K.multiTenant), 'X-TENANT-ID': 'ORG-B' }, TENANT_NOT_FOUND),
  row('a key linked to no tenant', bearer(K.noTenant), NO_TENANT),
  row('a key linked to no tenant, naming one', { ...bearer(K.noTenant), 'X-TENANT-ID': '1' }, NO_TENANT),

  // Scopes.
  row('a key with the route scope', bearer(K.production), granted('key-prod', 1), '/scoped'),
  row('a staging key with the route scope', apiKey(K.staging), granted('key-stage', 2), '/scoped'),
  row('a key without the route scope', bearer(K.noScopes), INSUFFICIENT_SCOPE, '/scoped'),
  row('no key on a scoped route', {}, MISSING, '/scoped'),

  // Rate limits: the record's own limit (the conformance hosts set no default).
  row('a key within its own rate limit', bearer(K.withinLimit), WITHIN_LIMIT),
  { ...row('a key past its own rate limit', bearer(K.pastLimit), RATE_LIMITED), before: 2 },

  // Key store faults.
  row('a key store that throws', bearer(K.storeThrows), UNAVAILABLE),
  row('a key store that hangs past the timeout', apiKey(K.storeHangs), UNAVAILABLE),

  // Webhook secrets (Bearer), as the Connexease Gateway sends them.
  webhook('webhook: the right secret', { Authorization: `Bearer ${secret}` }, RECEIVED),
  webhook('webhook: the right secret, scheme in lower case', { Authorization: `bearer ${secret}` }, RECEIVED),
  webhook('webhook: no Authorization', {}, SECRET_MISSING),
  webhook('webhook: the secret in X-API-KEY instead', { 'X-API-KEY': secret }, SECRET_MISSING),
  webhook('webhook: a wrong secret', { Authorization: `Bearer ${WEBHOOK_SECRETS.stranger}` }, SECRET_INVALID),
  webhook(
    "webhook: another sender's secret",
    { Authorization: `Bearer ${WEBHOOK_SECRETS.billingNew}` },
    SECRET_INVALID,
  ),
  webhook(
    'webhook: the secret one character off at the start',
    { Authorization: `Bearer ${oneCharacterOff(secret, 'start')}` },
    SECRET_INVALID,
  ),
  webhook(
    'webhook: the secret one character off at the end',
    { Authorization: `Bearer ${oneCharacterOff(secret, 'end')}` },
    SECRET_INVALID,
  ),
  webhook('webhook: the secret plus one character', { Authorization: `Bearer ${secret}x` }, SECRET_INVALID),
  webhook('webhook: the secret cut short', { Authorization: `Bearer ${secret.slice(0, -1)}` }, SECRET_INVALID),
  webhook('webhook: Basic credentials', { Authorization: 'Basic dXNlcjpwYXNz' }, SECRET_MALFORMED),
  webhook('webhook: two spaces after Bearer', { Authorization: `Bearer  ${secret}` }, SECRET_MALFORMED),

  // Signed webhooks (Standard Webhooks), signed by the reference implementation.
  signed(
    'signed webhook: signed with the current secret',
    () => signedHeaders(SIGNING_SECRETS.current, WEBHOOK_BODY),
    RECEIVED,
  ),
  signed(
    'signed webhook: signed with the previous secret (rotation)',
    () => signedHeaders(SIGNING_SECRETS.previous, WEBHOOK_BODY),
    RECEIVED,
  ),
  signed(
    'signed webhook: a tampered body',
    () => signedHeaders(SIGNING_SECRETS.current, WEBHOOK_BODY),
    SIGNATURE_INVALID,
    WEBHOOK_BODY.replace('Merhaba', 'Merhabe'),
  ),
  signed(
    'signed webhook: another secret',
    () => signedHeaders(SIGNING_SECRETS.stranger, WEBHOOK_BODY),
    SIGNATURE_INVALID,
  ),
  signed(
    'signed webhook: a stale timestamp',
    () => signedHeaders(SIGNING_SECRETS.current, WEBHOOK_BODY, { at: new Date(Date.now() - 600_000) }),
    TIMESTAMP_INVALID,
  ),
  signed(
    'signed webhook: a future timestamp',
    () => signedHeaders(SIGNING_SECRETS.current, WEBHOOK_BODY, { at: new Date(Date.now() + 600_000) }),
    TIMESTAMP_INVALID,
  ),
  signed('signed webhook: no signature headers', () => ({}), SIGNATURE_MISSING),
];

// With `headers: ['x-api-key']` the app never reads Authorization: its challenges name the header
// it reads instead of pointing clients at Bearer. Webhook secrets still travel in Authorization.
const API_KEY_CHALLENGE = 'ApiKey realm="api", header="x-api-key"';
const readingOnly = (outcome: Outcome, params = ''): Outcome => ({
  ...outcome,
  challenge: API_KEY_CHALLENGE + params,
});

/** Rows for hosts configured with `headers: ['x-api-key']`. */
export const X_API_KEY_ONLY_CASES: ConformanceCase[] = [
  row('x-api-key only: X-API-KEY', apiKey(K.production), granted('key-prod', 1)),
  row('x-api-key only: no headers', {}, readingOnly(MISSING)),
  row('x-api-key only: a key in Authorization, which is not read', bearer(K.production), readingOnly(MISSING)),
  row('x-api-key only: an empty X-API-KEY', { 'X-API-KEY': '' }, readingOnly(MALFORMED, ', error="invalid_request"')),
  row('x-api-key only: an unknown key', apiKey(K.unknown), readingOnly(INVALID, ', error="invalid_token"')),
  row(
    'x-api-key only: a key without the route scope',
    apiKey(K.noScopes),
    readingOnly(INSUFFICIENT_SCOPE, ', error="insufficient_scope", scope="messages:send"'),
    '/scoped',
  ),
  webhook('x-api-key only: webhook without Authorization', {}, SECRET_MISSING),
  webhook('x-api-key only: webhook with the right secret', { Authorization: `Bearer ${secret}` }, RECEIVED),
];

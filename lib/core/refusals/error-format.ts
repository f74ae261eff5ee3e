import { KeyringConfigError, type FailureReason, type KeyringFailure } from './failure.js';
import { rateLimitHeaders, secondsUntilReset } from '../limits/rate-limit.js';

/** What a custom error format returns for a failure. */
export interface FormattedError {
  /** HTTP status to answer with. */
  status: number;
  /** JSON body to send: an object, which Nest's exception layer sends as it is. */
  body: object;
}

/** A custom error format: receives the failure (never the key) and shapes the answer. */
export type ErrorFormatter = (failure: KeyringFailure) => FormattedError;

/**
 * `'cubeconnect'` (default): `{ success: false, error: { code, message } }` with
 * `AUTHENTICATION_REQUIRED`, `INVALID_API_KEY`, `API_KEY_NO_TENANT`, `TENANT_NOT_FOUND`.
 * `'connexease'`: the same envelope with `AUTH_002`, `AUTH_003`, `AUTH_001`.
 * Or a function of your own.
 */
export type ErrorFormat = 'cubeconnect' | 'connexease' | ErrorFormatter;

/** Everything an adapter needs to answer a refusal. */
export interface ErrorResponse extends FormattedError {
  headers: Record<string, string>;
}

interface PresetEntry {
  status: number;
  code: string;
  message: string;
}

// Frozen, as the tables that hold them: they are exported, and shared by every app.
const entry = (status: number, code: string, message: string): PresetEntry => Object.freeze({ status, code, message });
const INVALID_KEY = entry(401, 'INVALID_API_KEY', 'Invalid API key.');
const STORE_UNAVAILABLE = entry(503, 'KEY_STORE_UNAVAILABLE', 'API keys cannot be checked right now. Try again later.');
const KEY_NOT_FOUND = entry(401, 'AUTH_001', 'API key not found or expired.');
const INVALID_WEBHOOK_SECRET = 'INVALID_WEBHOOK_SECRET';

// Reasons neither vocabulary names share these codes in both presets; neither API contract names
// codes for refused webhooks, so theirs are in the CubeConnect style, each distinct from the
// API-key codes, so a log tells the two apart.
const SHARED: Omit<Record<FailureReason, PresetEntry>, 'missing' | 'malformed' | KeyReason> = {
  no_tenant: entry(403, 'API_KEY_NO_TENANT', 'API key is not linked to any tenant.'),
  tenant_not_found: entry(403, 'TENANT_NOT_FOUND', 'Tenant not found for this API key.'),
  insufficient_scope: entry(403, 'INSUFFICIENT_SCOPE', 'API key lacks a scope this route requires.'),
  lookup_unavailable: STORE_UNAVAILABLE,
  lookup_throttled: STORE_UNAVAILABLE,
  rate_limited: entry(
    429,
    'RATE_LIMITED',
    'Too many requests for this API key. Retry after the number of seconds in Retry-After.',
  ),
  webhook_secret_missing: entry(401, 'WEBHOOK_SECRET_REQUIRED', 'Webhook secret is required.'),
  webhook_secret_malformed: entry(
    401,
    INVALID_WEBHOOK_SECRET,
    'Authorization header must be in the form "Bearer <webhook secret>".',
  ),
  webhook_secret_invalid: entry(401, INVALID_WEBHOOK_SECRET, 'Invalid webhook secret.'),
  webhook_signature_missing: entry(
    401,
    'WEBHOOK_SIGNATURE_REQUIRED',
    'Webhook signature headers (webhook-id, webhook-timestamp, webhook-signature) are required.',
  ),
  webhook_signature_invalid: entry(401, 'INVALID_WEBHOOK_SIGNATURE', 'Invalid webhook signature.'),
  webhook_timestamp_invalid: entry(
    401,
    'INVALID_WEBHOOK_TIMESTAMP',
    'Webhook timestamp is malformed or too far from the current time.',
  ),
};

// The reasons each vocabulary answers with one code: a key the store does not vouch for.
type KeyReason = 'invalid' | 'expired' | 'revoked' | 'wrong_environment';
const keyReasons = (answer: PresetEntry): Record<KeyReason, PresetEntry> => ({
  invalid: answer,
  expired: answer,
  revoked: answer,
  wrong_environment: answer,
});

// Standard Webhooks signatures are no HTTP authentication scheme: a Bearer challenge would
// point the sender at the wrong fix, so these refusals carry none.
export const SIGNATURE_REASONS: readonly FailureReason[] = [
  'webhook_signature_missing',
  'webhook_signature_invalid',
  'webhook_timestamp_invalid',
];

/** The two preset vocabularies, reason by reason. */
export const ERROR_PRESETS: Readonly<
  Record<'cubeconnect' | 'connexease', Readonly<Record<FailureReason, PresetEntry>>>
> = Object.freeze({
  cubeconnect: Object.freeze({
    missing: entry(401, 'AUTHENTICATION_REQUIRED', 'API key is required.'),
    malformed: INVALID_KEY,
    ...keyReasons(INVALID_KEY),
    ...SHARED,
  }),
  connexease: Object.freeze({
    missing: entry(401, 'AUTH_002', 'Authorization header is missing.'),
    malformed: entry(401, 'AUTH_003', 'Authorization header must be in the form "Bearer <token>".'),
    ...keyReasons(KEY_NOT_FOUND),
    ...SHARED,
  }),
});

function presetFormatter(preset: Readonly<Record<FailureReason, PresetEntry>>): ErrorFormatter {
  return ({ reason }) => {
    const { status, code, message } = preset[reason];
    return { status, body: { success: false, error: { code, message } } };
  };
}

/** The `realm` every challenge names unless the `realm` option says otherwise. */
export const DEFAULT_REALM = 'api';

/**
 * The `WWW-Authenticate` challenge for a refusal (RFC 6750 §3): every 401 carries one (RFC 9110
 * §15.5.2 requires it), always with a `realm` (RFC 6750 §3: the scheme "MUST be followed by one
 * or more auth-param values"), with no error code when no credential was sent; a 403 for a
 * missing scope names the scopes. Standard Webhooks is no registered HTTP scheme, so its
 * refusals name it as `Webhook-Signature`.
 *
 * A refused API key is challenged with what the app reads: `Bearer` when `keyHeaders` holds
 * `authorization`, else one `ApiKey realm="…", header="<name>"` per header (RFC 9110 §11.1
 * allows any scheme name), so no client is pointed at a scheme the app would ignore.
 */
export function challengeFor(
  failure: KeyringFailure,
  status: number,
  realm: string = DEFAULT_REALM,
  keyHeaders: readonly string[] = ['authorization'],
): string | undefined {
  const realmParam = `realm="${realm}"`;
  const { reason } = failure;
  const apiKeyScheme = !reason.startsWith('webhook_') && !keyHeaders.includes('authorization');
  const schemes = apiKeyScheme
    ? keyHeaders.map((header) => `ApiKey ${realmParam}, header="${header}"`)
    : [`Bearer ${realmParam}`];
  const challenge = (params = '') => schemes.map((scheme) => scheme + params).join(', ');
  if (status === 401) {
    if (SIGNATURE_REASONS.includes(reason)) return `Webhook-Signature ${realmParam}`;
    if (reason === 'missing' || reason === 'webhook_secret_missing') return challenge();
    const malformed = reason === 'malformed' || reason === 'webhook_secret_malformed';
    return challenge(`, error="${malformed ? 'invalid_request' : 'invalid_token'}"`);
  }
  if (status === 403 && reason === 'insufficient_scope') {
    return challenge(`, error="insufficient_scope", scope="${(failure.requiredScopes ?? []).join(' ')}"`);
  }
  return undefined;
}

// RFC 9110 quoted-string content without quoted-pairs: printable ASCII but `"` and `\`.
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

/**
 * Checks a `realm` option, defaulting to `'api'`.
 *
 * @throws KeyringConfigError for a realm that cannot be sent as a quoted string
 */
export function resolveRealm(realm: unknown): string {
  if (realm === undefined) return DEFAULT_REALM;
  if (typeof realm !== 'string' || !REALM.test(realm)) {
    throw new KeyringConfigError(
      `\`realm\` must be 1 to 128 printable ASCII characters without " or \\; got ${JSON.stringify(realm)}.`,
    );
  }
  return realm;
}

/**
 * Checks an `errorFormat` option, defaulting to `'cubeconnect'`.
 *
 * @throws KeyringConfigError for anything but a preset name or a function
 */
export function resolveErrorFormat(format: unknown): ErrorFormat {
  const resolved = format ?? 'cubeconnect';
  if (typeof resolved !== 'function' && resolved !== 'cubeconnect' && resolved !== 'connexease') {
    throw new KeyringConfigError(
      `\`errorFormat\` must be 'cubeconnect', 'connexease' or a function; got ${JSON.stringify(resolved)}.`,
    );
  }
  return resolved as ErrorFormat;
}

/**
 * Turns an error format option into the function adapters call for every refusal.
 *
 * @param keyHeaders the headers a key is read from (the `headers` option), which the challenge names
 */
export function createErrorResponder(
  format: ErrorFormat,
  realm: string = DEFAULT_REALM,
  keyHeaders?: readonly string[],
): (failure: KeyringFailure) => ErrorResponse {
  const formatter = typeof format === 'function' ? format : presetFormatter(ERROR_PRESETS[format]);
  return (failure) => {
    const { status, body } = formatter(failure);
    // A refusal answered 2xx or 3xx would read as a success to clients and caches.
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new TypeError(
        `nest-keyring: errorFormat answered status ${String(status)} for "${failure.reason}"; ` +
          `a refusal needs a status from 400 to 599.`,
      );
    }
    const headers: Record<string, string> = {};
    const challenge = challengeFor(failure, status, realm, keyHeaders);
    if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
    // Throttled lookups free up within a second.
    if (failure.reason === 'lookup_throttled') headers['Retry-After'] = '1';
    // At least 1: a client told to retry after 0 seconds retries at once, into the same window.
    if (failure.rateLimit !== undefined) {
      headers['Retry-After'] = String(Math.max(1, secondsUntilReset(failure.rateLimit)));
      Object.assign(headers, rateLimitHeaders(failure.rateLimit));
    }
    return { status, body, headers };
  };
}

/** A field of a refusal body in either preset's envelope (`error.<name>`), or at its top level. */
export function bodyField(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error } = body as { error?: unknown };
  if (typeof error === 'object' && error !== null && name in error) return (error as Record<string, unknown>)[name];
  return (body as Record<string, unknown>)[name];
}

/**
 * The code and message of a refusal's body, so that a transport without an HTTP body (a GraphQL
 * error, a WebSocket refusal) speaks the same vocabulary as the REST answer: `error.code` /
 * `error.message` (both presets), else the top level; a body with neither gets the failure's
 * reason, upper-cased.
 */
export function summarizeRefusal(failure: KeyringFailure, body: object): { code: string; message: string } {
  const text = (name: string) => {
    const value = bodyField(body, name);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return { code: text('code') ?? failure.reason.toUpperCase(), message: text('message') ?? 'Request refused.' };
}

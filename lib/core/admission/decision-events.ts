import { channel, type Channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { ApiKeyRecord, Tenant } from '../keys/api-key-record.js';
import { bodyField, type ErrorResponse } from '../refusals/error-format.js';
import type { FailureReason, KeyringFailure } from '../refusals/failure.js';
import type { StoreResult } from '../lookup/lookup.js';
import { requestRoute } from './request-route.js';
import type { WebhookSecretName } from '../webhooks/webhook-secrets.js';

/**
 * The `node:diagnostics_channel` names nest-keyring publishes on, one per kind of decision.
 * Subscribe with `diagnostics_channel.subscribe(KEYRING_CHANNELS.refused, onRefused)`; messages
 * are plain objects of strings and numbers (see each `…Message` type), published synchronously
 * before the response is sent, and never hold the request, its headers, a key or a secret.
 * Nothing is built, timed or published while a channel has no subscriber.
 */
export const KEYRING_CHANNELS = Object.freeze({
  /** A request's API key was admitted (`AdmittedMessage`). */
  admitted: 'nest-keyring:admitted',
  /** A request was refused, for any reason, a failing key store included (`RefusedMessage`). */
  refused: 'nest-keyring:refused',
  /** The key store (or `resolveTenants`) threw or timed out; answered 503 (`StoreFaultMessage`). */
  storeFault: 'nest-keyring:store-fault',
  /** A webhook's secret or signature was verified (`WebhookVerifiedMessage`). */
  webhookVerified: 'nest-keyring:webhook-verified',
  /** A webhook was refused (`WebhookRefusedMessage`). */
  webhookRefused: 'nest-keyring:webhook-refused',
  /** A key was looked up: answered by the cache, or by the key store (`LookupMessage`). */
  lookup: 'nest-keyring:lookup',
} as const);

/** What every request-decision message carries about the request: never its URL's query, headers or body. */
export interface DecisionRoute {
  /** HTTP method, e.g. `'GET'`. */
  method: string;
  /** The route pattern the framework matched (`/messages/:id`), else the path without its query string. */
  route: string;
  /** Milliseconds from the start of the check to the decision. */
  durationMs: number;
}

/** On `nest-keyring:admitted`. */
export interface AdmittedMessage extends DecisionRoute {
  /** The key's record id (`ApiKeyRecord.id`, as a string), never the key. */
  keyId: string;
  /** The tenant the request acts for (as a string); `undefined` with `tenancy` off. */
  tenantId: string | undefined;
}

/** On `nest-keyring:refused`. */
export interface RefusedMessage extends DecisionRoute {
  /** Why: `'missing'`, `'invalid'`, `'tenant_not_found'`, `'lookup_unavailable'`… */
  reason: FailureReason;
  /** The error code answered (`'AUTHENTICATION_REQUIRED'`, `'AUTH_001'`…); `undefined` if a custom format has none. */
  code: string | undefined;
  /** The HTTP status answered. */
  status: number;
  /** The key's record id where the refusal came after the key was known (a missing scope, a refused tenant). */
  keyId: string | undefined;
  /** The tenant, where the refusal came after it was chosen (a missing scope). */
  tenantId: string | undefined;
}

/** On `nest-keyring:store-fault`, besides the request's `nest-keyring:refused` message. */
export interface StoreFaultMessage extends DecisionRoute {
  reason: 'lookup_unavailable';
  /** The status answered (503 with the presets). */
  status: number;
  /** The error's class name (`'LookupTimeoutError'` for a timeout): never its message, which is the store's. */
  errorName: string;
  /** True when the store did not answer within `lookupTimeoutMs`. */
  timedOut: boolean;
}

/** On `nest-keyring:webhook-verified`. */
export interface WebhookVerifiedMessage extends DecisionRoute {
  /** The configured secret's name (`'default'`, or `@WebhookSecret(name)`), never the secret. */
  secretName: string;
  scheme: 'bearer' | 'standard-webhooks';
}

/** On `nest-keyring:webhook-refused`. */
export interface WebhookRefusedMessage extends WebhookVerifiedMessage {
  /** `'webhook_secret_invalid'`, `'webhook_signature_invalid'`… */
  reason: FailureReason;
  code: string | undefined;
  status: number;
}

/** On `nest-keyring:lookup`: one per key the cache answered, and one per call to the key store. */
export interface LookupMessage {
  /** True when the cache answered (then `durationMs` is 0); false for a call to the key store. */
  cached: boolean;
  /** `'found'` (the store knows the key), `'unknown'`, or `'fault'` (it threw or timed out). */
  outcome: 'found' | 'unknown' | 'fault';
  /** The record id for `'found'`, never the key. */
  keyId: string | undefined;
  /** How long the key store took. */
  durationMs: number;
}

const admitted = channel(KEYRING_CHANNELS.admitted);
const refused = channel(KEYRING_CHANNELS.refused);
const storeFault = channel(KEYRING_CHANNELS.storeFault);
const webhookVerified = channel(KEYRING_CHANNELS.webhookVerified);
const webhookRefused = channel(KEYRING_CHANNELS.webhookRefused);
const lookup = channel(KEYRING_CHANNELS.lookup);

/** A start time no decision has: nobody listened when it started, so it is not timed nor published. */
export const NOT_OBSERVED = -1;

/** Answers a refusal's status and body (a `Keyring`, or a webhook middleware's responder). */
export interface Responder {
  errorResponse(failure: KeyringFailure): ErrorResponse;
}

/**
 * When a key check starts, for its message's `durationMs`: `NOT_OBSERVED` (no clock read) while
 * nobody subscribes to its channels. A check that started unobserved publishes nothing.
 */
export function decisionStarted(): number {
  return admitted.hasSubscribers || refused.hasSubscribers || storeFault.hasSubscribers
    ? performance.now()
    : NOT_OBSERVED;
}

/** `decisionStarted` for a webhook check. */
export function webhookCheckStarted(): number {
  return webhookVerified.hasSubscribers || webhookRefused.hasSubscribers ? performance.now() : NOT_OBSERVED;
}

/** Publishes a request's admission on `nest-keyring:admitted`. */
export function publishAdmitted(started: number, request: object, record: ApiKeyRecord, tenant?: Tenant): void {
  if (started === NOT_OBSERVED) return;
  publish<AdmittedMessage>(admitted, started, request, { keyId: String(record.id), tenantId: idOf(tenant) });
}

/**
 * Publishes a refusal on `nest-keyring:refused`, and a failing store on `nest-keyring:store-fault`.
 * `record` and `tenant` are those of a request refused after its key was admitted.
 */
export function publishRefused(
  started: number,
  request: object,
  failure: KeyringFailure,
  responder: Responder,
  record?: ApiKeyRecord,
  tenant?: Tenant,
): void {
  if (started === NOT_OBSERVED || !(refused.hasSubscribers || storeFault.hasSubscribers)) return;
  const answer = refusalFields(failure, responder);
  publish<RefusedMessage>(refused, started, request, { ...answer, keyId: idOf(record), tenantId: idOf(tenant) });
  if (failure.reason !== 'lookup_unavailable') return;
  const errorName = failure.cause instanceof Error ? failure.cause.name : 'Error';
  const timedOut = errorName === 'LookupTimeoutError';
  publish<StoreFaultMessage>(storeFault, started, request, {
    reason: failure.reason,
    status: answer.status,
    errorName,
    timedOut,
  });
}

/** Publishes a verified webhook on `nest-keyring:webhook-verified`. */
export function publishWebhookVerified(started: number, request: object, secret: WebhookSecretName): void {
  if (started === NOT_OBSERVED) return;
  publish<WebhookVerifiedMessage>(webhookVerified, started, request, {
    secretName: secret.name,
    scheme: secret.scheme,
  });
}

/** Publishes a refused webhook on `nest-keyring:webhook-refused`. */
export function publishWebhookRefused(
  started: number,
  request: object,
  failure: KeyringFailure,
  responder: Responder,
  secret: WebhookSecretName,
): void {
  if (started === NOT_OBSERVED || !webhookRefused.hasSubscribers) return;
  const fields = { ...refusalFields(failure, responder), secretName: secret.name, scheme: secret.scheme };
  publish<WebhookRefusedMessage>(webhookRefused, started, request, fields);
}

/** Publishes a decision's message, with its request's route and duration, where someone listens. */
function publish<M extends DecisionRoute>(
  target: Channel,
  started: number,
  request: object,
  fields: Omit<M, keyof DecisionRoute>,
): void {
  if (target.hasSubscribers)
    target.publish({ ...fields, ...requestRoute(request), durationMs: performance.now() - started });
}

/** What a refusal message says of the answer. */
function refusalFields(failure: KeyringFailure, responder: Responder) {
  const { status, body } = responder.errorResponse(failure);
  return { reason: failure.reason, code: codeOf(body), status };
}

/** When a call to the key store starts: `NOT_OBSERVED` while nobody subscribes to `nest-keyring:lookup`. */
export function lookupStarted(): number {
  return lookup.hasSubscribers ? performance.now() : NOT_OBSERVED;
}

/**
 * The key store's answer, published on `nest-keyring:lookup` once it settles (the same promise
 * when the call started unobserved).
 *
 * @param idOf the record id of a judged answer, `undefined` for an unknown key
 */
export function observedLookup<T>(
  started: number,
  answer: Promise<StoreResult<T>>,
  idOf: (value: T) => string | undefined,
): Promise<StoreResult<T>> {
  if (started === NOT_OBSERVED) return answer;
  return answer.then((result) => {
    // Throttled: the store was not asked.
    if (lookup.hasSubscribers && (result.ok || result.failure.reason !== 'lookup_throttled')) {
      const keyId = result.ok ? idOf(result.value) : undefined;
      const outcome = !result.ok ? 'fault' : keyId === undefined ? 'unknown' : 'found';
      lookup.publish({
        cached: false,
        outcome,
        keyId,
        durationMs: performance.now() - started,
      } satisfies LookupMessage);
    }
    return result;
  });
}

/** Publishes a key the cache answered on `nest-keyring:lookup` (`recordId`: `undefined` for an unknown key). */
export function publishCacheHit(recordId: string | undefined): void {
  if (!lookup.hasSubscribers) return;
  const outcome = recordId === undefined ? 'unknown' : 'found';
  lookup.publish({ cached: true, outcome, keyId: recordId, durationMs: 0 } satisfies LookupMessage);
}

function idOf(owner: { id: string | number } | undefined): string | undefined {
  return owner === undefined ? undefined : String(owner.id);
}

/** The code of a refusal body, where it has one. */
export function codeOf(body: object): string | undefined {
  const code = bodyField(body, 'code');
  return typeof code === 'string' ? code : undefined;
}

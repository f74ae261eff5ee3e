import { decisionStarted, publishAdmitted, publishRefused } from './decision-events.js';
import type { RequestHeaders } from './headers.js';
import type { AdmissionResult, AdmittedFields, Keyring } from '../keyring.js';
import { isPending, type MaybePromise } from '../maybe-async.js';
import { admissionOf, countUnitOfWork, recordAdmission, type Admission } from './request-admission.js';

/** What a transport read off one request, or one unit of its work, for `admitRequest`. */
export interface AdmissionInput {
  /**
   * The request the decision belongs to: its admission is recorded on it, `apiKey` and `tenant`
   * are put on it, and diagnostics messages name its method and route. An admission an earlier
   * check recorded on it is reused: a request's key and tenant, once chosen, are never replaced.
   */
  readonly request: AdmittedFields;
  /** Lower-cased header names, as Node gives them. */
  readonly headers: RequestHeaders;
  /** The header lines as received (`request.rawHeaders`), where the transport has them. */
  readonly rawHeaders: readonly string[] | undefined;
  /** The client's address (`request.socket.remoteAddress`), where the transport has it. */
  readonly clientAddress: string | undefined;
  /** Scopes the key must hold here (`@RequireScopes()`, a middleware's `scopes`). */
  readonly requiredScopes: readonly string[];
  /**
   * True for one unit of a request's work (a GraphQL root field, aliases and batched operations
   * included): the first is the request's admission, each further one counts once more against
   * the key's rate limit.
   */
  readonly unitOfWork?: boolean;
}

/**
 * The one admission sequence every transport calls: credentials, key, tenant, rate limit and
 * usage (`Keyring.admit`), then the scopes; the admission is recorded on the request and the
 * decision published on the `nest-keyring:*` diagnostics channels. Answers the admission (its
 * `rateLimit` status and `warning` for the transport to report) or the refusal to send, at once
 * when nothing has to be awaited (a key the cache holds: no closure, no promise).
 */
export function admitRequest(keyring: Keyring, input: AdmissionInput): MaybePromise<AdmissionResult> {
  // Reads no clock while nobody subscribes to the diagnostics channels.
  const started = decisionStarted();
  const earlier = admissionOf(input.request);
  // The first unit of a request's work is its admission; each further one counts once more.
  const furtherUnit = input.unitOfWork === true && countUnitOfWork(input.request) > 1;
  let result: MaybePromise<AdmissionResult>;
  // `admit` counts the request (a further unit too, where the first is still being admitted).
  if (earlier === undefined) result = keyring.admit(input.headers, input.rawHeaders, input.clientAddress);
  else if (furtherUnit) result = keyring.countRequest(earlier.record, earlier.tenant);
  else result = { ok: true, record: earlier.record, tenant: earlier.tenant };
  // A key the cache holds is decided now, with no closure and no promise.
  if (!isPending(result)) return decide(keyring, input, started, earlier, result);
  return result.then((settled) => decide(keyring, input, started, earlier, settled));
}

/** Records an admission on the request and checks its scopes; publishes the decision. */
function decide(
  keyring: Keyring,
  input: AdmissionInput,
  started: number,
  earlier: Admission | undefined,
  result: AdmissionResult,
): AdmissionResult {
  const { request } = input;
  if (!result.ok) {
    publishRefused(started, request, result.failure, keyring, earlier?.record, earlier?.tenant);
    return result;
  }
  // The first admission stands: two root fields of one operation may both have been admitted.
  const { record, tenant } = earlier ?? recordAdmission(request, result);
  request.apiKey = record;
  request.tenant = tenant;
  const scopeFailure = keyring.checkScopes(record, input.requiredScopes);
  if (scopeFailure !== undefined) {
    publishRefused(started, request, scopeFailure, keyring, record, tenant);
    return { ok: false, failure: scopeFailure };
  }
  // An earlier check published its own admission.
  if (earlier === undefined) publishAdmitted(started, request, record, tenant);
  return result.record === record && result.tenant === tenant ? result : { ...result, record, tenant };
}

import type { ApiKeyRecord, Tenant } from '../keys/api-key-record.js';

/** What nest-keyring decided for one request: the key's record and the tenant it acts for. */
export interface Admission {
  readonly record: ApiKeyRecord;
  /** `undefined` with `tenancy` off. */
  readonly tenant: Tenant | undefined;
}

// A private symbol: nothing a client sends, and nothing the application puts on the request
// (`req.apiKey`, a body parser's output), can pass for an admission of ours. `Symbol.for` so
// the ESM and the CommonJS builds, loaded side by side, agree on it.
const ADMISSION = Symbol.for('nest-keyring:admission');
type AdmittedRequest = { [ADMISSION]?: Admission };

/**
 * The request nest-keyring keeps its decision on: the Node request. On Fastify, Nest hands
 * guards a wrapper whose `raw` is the Node request that middleware see.
 */
export function nodeRequestOf(request: object): object {
  const raw = (request as { raw?: unknown }).raw;
  return typeof raw === 'object' && raw !== null ? raw : request;
}

/** The admission recorded for this request, if any. */
export function admissionOf(request: object): Admission | undefined {
  return (nodeRequestOf(request) as AdmittedRequest)[ADMISSION];
}

/**
 * Records a request's admission. The first one stands: a request's key and tenant, once
 * chosen, are never replaced by a later guard or middleware.
 */
export function recordAdmission(request: object, admission: Admission): Admission {
  return ((nodeRequestOf(request) as AdmittedRequest)[ADMISSION] ??= admission);
}

// How many units of work (GraphQL root fields) of a request have been checked so far.
const UNITS = Symbol.for('nest-keyring:units');

/** Notes one more unit of work of this request and answers how many there were so far, this one included. */
export function countUnitOfWork(request: object): number {
  const target = nodeRequestOf(request) as { [UNITS]?: number };
  return (target[UNITS] = (target[UNITS] ?? 0) + 1);
}

// Node asks the socket's handle each time `remoteAddress` is read (~80 ns, most of a cache
// hit's budget); a connection's address never changes, so it is read once per socket.
const CLIENT_ADDRESS = Symbol('nest-keyring:client-address');
type AddressedSocket = { remoteAddress?: string; [CLIENT_ADDRESS]?: string };

/** The client's address of a request (its Node socket's `remoteAddress`), read once per connection. */
export function clientAddressOf(request: object): string | undefined {
  const { socket } = nodeRequestOf(request) as { socket?: AddressedSocket | null };
  return socket ? (socket[CLIENT_ADDRESS] ??= socket.remoteAddress) : undefined;
}

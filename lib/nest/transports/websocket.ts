// WebSocket connections as nest-keyring sees them, with no import of a WebSocket library: the
// root entry uses this for `ApiKeyGuard` on gateways, and the adapters of `nest-keyring/socket.io`
// and `nest-keyring/ws` (which check each connection's handshake) fill it in.
import type { ExecutionContext } from '@nestjs/common';
import type { ApiKeyRecord, Tenant } from '../../core/keys/api-key-record.js';
import { KeyringConfigError, type KeyringFailure } from '../../core/refusals/failure.js';
import type { RequestHeaders } from '../../core/admission/headers.js';
import type { Keyring } from '../../core/keyring.js';
import { openTenantScope } from '../../core/context/tenant-context.js';

/** What nest-keyring decided for one WebSocket connection in its handshake. */
export interface SocketAdmission {
  /**
   * The key's record (with `environment` filled from the key's prefix), as the store last said:
   * replaced when an invalidation has the key checked again and it still holds.
   */
  readonly record: ApiKeyRecord;
  /** The tenant the connection acts for; `undefined` with `tenancy` off. */
  readonly tenant: Tenant | undefined;
  /** The handshake's credential headers (socket.io's auth payload written in): what an invalidation checks again. */
  readonly headers: RequestHeaders;
  /** Builds the error that refuses one message of this connection, in its transport's shape. */
  readonly refusal: (failure: KeyringFailure) => Error;
}

/** What an admitted socket carries, read by `@CurrentApiKey()` and `@CurrentTenant()` as on a request. */
export interface KeyringSocketFields {
  apiKey?: ApiKeyRecord;
  tenant?: Tenant;
}

// A private symbol, as for requests: nothing a client sends can pass for an admission of ours.
// `Symbol.for`: the ESM and CommonJS builds, loaded side by side, agree on it.
const ADMISSION = Symbol.for('nest-keyring:socket-admission');
type AdmittedSocket = KeyringSocketFields & { [ADMISSION]?: SocketAdmission };

/**
 * Records a connection's admission on its socket. The first one stands (the properties are
 * read-only): nothing a handler or a client does replaces a connection's key or tenant.
 */
export function admitSocket(client: object, admission: SocketAdmission): void {
  const socket = client as AdmittedSocket;
  if (socket[ADMISSION] !== undefined) return;
  Object.defineProperties(socket, {
    [ADMISSION]: { value: admission },
    // Where the param decorators read them, as on an HTTP request (the socket is a gateway's first argument).
    apiKey: { get: () => admission.record, enumerable: true },
    tenant: { get: () => admission.tenant, enumerable: true },
  });
}

/** The admission recorded for this socket in its handshake, if any. */
export function socketAdmissionOf(client: unknown): SocketAdmission | undefined {
  return typeof client === 'object' && client !== null ? (client as AdmittedSocket)[ADMISSION] : undefined;
}

/**
 * Runs `fn` (a gateway's connection, message or disconnect handler) as the connection's tenant:
 * `TenantContext` inside reads it, for everything the handler starts. A scope of its own each
 * time, so two connections' messages, however interleaved, never share one.
 */
export function runAsSocket<R>(client: object, fn: () => R): R {
  const tenant = socketAdmissionOf(client)?.tenant;
  return tenant === undefined ? fn() : openTenantScope(client, fn, tenant);
}

const NOT_ADMITTED =
  'ApiKeyGuard runs on a WebSocket gateway whose connection was not checked in its handshake. ' +
  "Serve gateways through nest-keyring's adapter: app.useWebSocketAdapter(new KeyringIoAdapter(app)) " +
  "from 'nest-keyring/socket.io', or new KeyringWsAdapter(app) from 'nest-keyring/ws'.";

/**
 * `ApiKeyGuard` on a gateway's message: the connection's key was checked in its handshake, so
 * only the handler's scopes are left to check, against the connection's record. A connection
 * nothing checked (a gateway served by a plain adapter) is a misconfiguration: refused loudly,
 * never let through.
 *
 * @param requiresKey false for a `@Public()` handler
 */
export function canActivateSocketMessage(
  keyring: Keyring,
  context: ExecutionContext,
  requiresKey: boolean,
  scopes: readonly string[],
): true {
  if (!requiresKey) return true;
  const admission = socketAdmissionOf(context.switchToWs().getClient());
  if (admission === undefined) throw new KeyringConfigError(NOT_ADMITTED);
  const failure = keyring.checkScopes(admission.record, scopes);
  if (failure !== undefined) throw admission.refusal(failure);
  return true;
}

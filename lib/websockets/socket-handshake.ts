import type { IncomingMessage } from 'node:http';
import type { INestApplicationContext, Logger } from '@nestjs/common';
import { WsException, type MessageMappingProperties } from '@nestjs/websockets';
import { admitRequest } from '../core/admission/admit-request.js';
import { clientAddressOf } from '../core/admission/request-admission.js';
import { codeOf, decisionStarted, publishRefused } from '../core/admission/decision-events.js';
import type { ErrorResponse } from '../core/refusals/error-format.js';
import { faultLogMessage, type KeyringFailure } from '../core/refusals/failure.js';
import { handshakeHeaders } from '../core/admission/handshake-credentials.js';
import type { RequestHeaders } from '../core/admission/headers.js';
import type { AdmittedFields, Keyring } from '../core/keyring.js';
import { then } from '../core/maybe-async.js';
import { fail, type Result } from '../core/result.js';
import { KEYRING } from '../nest/module/api-key.constants.js';
import { runAsSocket, socketAdmissionOf, type SocketAdmission } from '../nest/transports/websocket.js';

/** Options of `KeyringIoAdapter` and `KeyringWsAdapter`. */
export interface KeyringSocketAdapterOptions {
  /**
   * The `Keyring` that checks each handshake. Default: the one `ApiKeyModule` configured (the
   * same options, cache and error format as the app's HTTP routes).
   */
  keyring?: Keyring;
}

/**
 * A refused message or handshake, as gateways and Nest's WebSocket exception filter see it: a
 * `WsException` whose error is the configured error body, the very body an HTTP route answers
 * (`{ success: false, error: { code, message } }` with the presets). Exception filters can read
 * `reason`.
 *
 * @example
 * @Catch(KeyringWsException)
 * export class RefusalFilter extends BaseWsExceptionFilter {}
 */
export class KeyringWsException extends WsException {
  /** The stable reason, e.g. `'insufficient_scope'`. */
  readonly reason: KeyringFailure['reason'];

  constructor(
    readonly failure: KeyringFailure,
    readonly errorResponse: ErrorResponse,
  ) {
    super(errorResponse.body);
    this.reason = failure.reason;
  }
}

/** A refused handshake: the HTTP answer a REST route would give, and its code. */
export interface HandshakeRefusal {
  readonly failure: KeyringFailure;
  readonly response: ErrorResponse;
  /** The error code of the configured format (`error.code`, or `code`, of the body), else the status. */
  readonly code: string;
}

/**
 * What both adapters do with a connection's handshake: decide it with the app's `Keyring`, once,
 * and describe a refusal. Internal.
 */
export class SocketHandshakes {
  private resolved: Keyring | undefined;
  // Connections ended for their key: a message that arrives before they are gone is not served.
  private readonly ended = new WeakSet<object>();

  constructor(
    private readonly app: INestApplicationContext | undefined,
    private readonly options: KeyringSocketAdapterOptions,
    private readonly logger: Logger,
  ) {}

  /** The app's `Keyring`, found on first use (when Nest creates the gateways' servers, at start-up). */
  get keyring(): Keyring {
    this.resolved ??= this.options.keyring ?? this.app?.get<symbol, Keyring>(KEYRING, { strict: false });
    if (this.resolved === undefined) throw new TypeError('KeyringIoAdapter / KeyringWsAdapter need the Nest app');
    return this.resolved;
  }

  /**
   * Decides a handshake with `admitRequest`, as an HTTP request is decided: the same rules,
   * answers, cache, diagnostics events and per-client budget of unknown keys (the upgrade's client
   * address). `auth` is socket.io's auth payload; `request` is what the decision is known by in
   * diagnostics messages, one object per handshake. Never rejects: anything unexpected refuses
   * the connection as `lookup_unavailable`, never lets it in.
   */
  admit(
    upgrade: IncomingMessage,
    auth: unknown,
    request: object = upgrade,
  ): Promise<Result<{ admission: SocketAdmission }, { refusal: HandshakeRefusal }>> {
    const keyring = this.keyring;
    let headers: RequestHeaders = upgrade.headers;
    return Promise.resolve()
      .then(() => {
        const credentials = handshakeHeaders(upgrade.headers, auth, keyring.options);
        if (!credentials.ok) {
          publishRefused(decisionStarted(), request, credentials.failure, keyring);
          return credentials;
        }
        headers = credentials.headers;
        const input = { headers, rawHeaders: upgrade.rawHeaders, clientAddress: clientAddressOf(upgrade) };
        return admitRequest(keyring, { ...input, request: request as AdmittedFields, requiredScopes: [] });
      })
      .catch((cause: unknown) => fail('lookup_unavailable', { cause }))
      .then((result) => {
        if (!result.ok) return { ok: false as const, failure: result.failure, refusal: this.refusal(result.failure) };
        // A rate-limit store's outage is warned of once, by whichever admission meets it first.
        if (result.warning !== undefined) this.logger.warn(result.warning);
        const refusal = (failure: KeyringFailure) => new KeyringWsException(failure, this.refusal(failure).response);
        return { ok: true as const, admission: { record: result.record, tenant: result.tenant, headers, refusal } };
      });
  }

  /** The answer to a refusal, in the configured format; faults logged as the guard logs them. */
  refusal(failure: KeyringFailure): HandshakeRefusal {
    const response = this.keyring.errorResponse(failure);
    const fault = faultLogMessage(failure, response.status);
    if (fault !== undefined) this.logger.error(fault, failure.cause);
    const formatRule = this.keyring.formatRuleLine(failure);
    if (formatRule !== undefined) this.logger.debug(formatRule);
    return { failure, response, code: codeOf(response.body) ?? String(response.status) };
  }

  /**
   * Keeps an admitted connection's key under watch for its life (`Keyring.connections`): `end` is
   * called with the refusal when its key expires, or is refused when an invalidation has it
   * checked again. Returns the call that stops watching, to make when the connection closes.
   */
  watch(client: object, end: (refusal: HandshakeRefusal) => void): () => void {
    const admission = socketAdmissionOf(client)!;
    return this.keyring.connections.add(admission.record, admission.tenant, admission.headers, {
      close: (failure) => {
        this.ended.add(client);
        end(this.refusal(failure));
      },
      // Ours alone (admitSocket hides it under a private symbol): the key's record as the store has
      // it now, read by the socket's `apiKey` and `tenant` from the next message on.
      update: (record, tenant) => Object.assign(admission, { record, tenant }),
    });
  }

  /**
   * A gateway's message handlers, each of which runs as the connection's tenant (`runAsSocket`),
   * in a scope of its own, once the message is counted against the key's rate limit
   * (`rateLimit.countSocketMessages`). A message over the limit, or sent after the connection was
   * ended for its key, is not served: `refuse` answers the first.
   */
  handlers(
    client: object,
    handlers: MessageMappingProperties[],
    refuse: (refusal: HandshakeRefusal) => void,
  ): MessageMappingProperties[] {
    const { rateLimit } = this.keyring.options;
    const counted = rateLimit !== false && rateLimit.countSocketMessages;
    return handlers.map((handler) => ({
      ...handler,
      callback: (...args: unknown[]) => {
        if (this.ended.has(client)) return undefined;
        const serve = () => runAsSocket(client, () => handler.callback(...args));
        const admission = socketAdmissionOf(client);
        if (!counted || admission === undefined) return serve();
        return then(this.keyring.countRequest(admission.record, admission.tenant), (result) => {
          if (result.ok) {
            if (result.warning !== undefined) this.logger.warn(result.warning);
            return serve();
          }
          refuse(this.refusal(result.failure));
          return undefined;
        });
      },
    }));
  }
}

import type { IncomingMessage } from 'node:http';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { VerifyClientCallbackAsync, VerifyClientCallbackSync, WebSocket } from 'ws';
import { admitSocket, runAsSocket, type SocketAdmission } from '../nest/transports/websocket.js';
import { SocketHandshakes, type HandshakeRefusal, type KeyringSocketAdapterOptions } from './socket-handshake.js';

type VerifyClient = VerifyClientCallbackAsync | VerifyClientCallbackSync;
type VerifyInfo = Parameters<VerifyClientCallbackAsync>[0];
type VerifyDone = Parameters<VerifyClientCallbackAsync>[1];

/**
 * Nest's `ws` adapter, with every connection's API key checked in its HTTP upgrade by the
 * app's `Keyring` (the same rules, cache and error codes as its HTTP routes): the key from
 * `Authorization: Bearer` or `X-API-KEY` (the configured `headers`), the tenant from `X-TENANT-ID`.
 *
 * A refused upgrade never connects: it is answered with the HTTP status, `WWW-Authenticate` and
 * JSON error body an HTTP route would send (401, 403 or 503). An admitted connection's handlers
 * run as its tenant (`TenantContext`), `@CurrentApiKey()` and `@CurrentTenant()` read its key and
 * tenant, and `ApiKeyGuard` / `@RequireScopes()` check each message's scopes (a refusal is sent as
 * `{ "event": "exception", "data": <error body> }`), as is a message over the key's rate limit.
 * A key that expires, or is refused when an invalidation has it checked again (a revocation, in any
 * replica), ends its connections with close code 4000 + the refusal's HTTP status (4401, 4403)
 * and the error code as reason.
 *
 * Browsers cannot set headers on a WebSocket: serve them with `KeyringIoAdapter` (its auth payload).
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new KeyringWsAdapter(app));
 * await app.listen(3000);
 * // client: new WebSocket('ws://localhost:3000', { headers: { 'X-API-KEY': key } })
 */
export class KeyringWsAdapter extends WsAdapter {
  private readonly handshakes: SocketHandshakes;
  // From the upgrade that admitted a connection to its socket, created right after.
  private readonly admitted = new WeakMap<IncomingMessage, SocketAdmission>();

  constructor(app: INestApplicationContext, options: KeyringSocketAdapterOptions = {}) {
    super(app);
    this.handshakes = new SocketHandshakes(app, options, new Logger('KeyringWsAdapter'));
  }

  override create(
    port: number,
    options: Record<string, unknown> & { namespace?: string; server?: unknown; path?: string } = {},
  ): unknown {
    // Resolved now, at start-up: a missing ApiKeyModule fails the app's start, not a connection.
    void this.handshakes.keyring;
    const theirs = options.verifyClient as VerifyClient | undefined;
    // Checks the upgrade's key, then the gateway's own `verifyClient`, if it has one.
    const verifyClient = (info: VerifyInfo, done: VerifyDone) => {
      const { req } = info;
      void this.handshakes
        .admit(req, undefined)
        .then((result) => {
          if (!result.ok) {
            const { status, body, headers } = result.refusal.response;
            return done(false, status, JSON.stringify(body), { ...headers, 'Content-Type': 'application/json' });
          }
          this.admitted.set(req, result.admission);
          if (theirs === undefined) return done(true);
          if (theirs.length >= 2) return (theirs as VerifyClientCallbackAsync)(info, done);
          done((theirs as VerifyClientCallbackSync)(info));
        })
        .catch((error: unknown) => {
          // The gateway's own verifyClient threw: refused, never let in.
          this.logger.error(error);
          done(false, 500);
        });
    };
    return super.create(port, { ...options, verifyClient });
  }

  override bindClientConnect(
    server: { on(event: 'connection', listener: (client: WebSocket, request: IncomingMessage) => void): void },
    callback: (client: WebSocket, request: IncomingMessage) => void,
  ): void {
    server.on('connection', (client, request) => {
      const admission = this.admitted.get(request);
      // A connection our verifyClient never saw (a server the gateway brought itself): never let in.
      if (admission === undefined) {
        this.logger.error('Closed a WebSocket connection: its upgrade was not checked for an API key');
        return client.terminate();
      }
      admitSocket(client, admission);
      // Ended when its key expires or is refused after an invalidation: close code 4000 + the
      // refusal's HTTP status (4401, 4403, 4503), its error code as the reason.
      const end = ({ response, code }: HandshakeRefusal) => client.close(4000 + response.status, code);
      client.once('close', this.handshakes.watch(client, end));
      runAsSocket(client, () => callback(client, request));
    });
  }

  override bindMessageHandlers(
    client: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const refuse = (refusal: HandshakeRefusal) =>
      client.send(JSON.stringify({ event: 'exception', data: refusal.response.body }));
    super.bindMessageHandlers(client, this.handshakes.handlers(client, handlers, refuse), transform);
  }

  override bindClientDisconnect(client: WebSocket, callback: (...args: unknown[]) => void): void {
    super.bindClientDisconnect(client, (...args: unknown[]) => runAsSocket(client, () => callback(...args)));
  }
}

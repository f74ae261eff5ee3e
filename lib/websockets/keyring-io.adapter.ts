import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { admitSocket, runAsSocket, socketAdmissionOf } from '../nest/transports/websocket.js';
import { SocketHandshakes, type HandshakeRefusal, type KeyringSocketAdapterOptions } from './socket-handshake.js';

/** The error a socket.io client receives in `connect_error` when its handshake is refused. */
export interface KeyringHandshakeError extends Error {
  /** The error code of the configured format, e.g. `INVALID_API_KEY` (also the `message`). */
  message: string;
  /** The body an HTTP route would answer, e.g. `{ success: false, error: { code, message } }`. */
  data: object;
}

/**
 * Nest's socket.io adapter, with every connection's API key checked in its handshake by
 * the app's `Keyring` (the same rules, cache and error codes as its HTTP routes). The key comes
 * from the handshake's `Authorization: Bearer`, `X-API-KEY` (the configured `headers`), or the
 * auth payload's `token`; the tenant from `X-TENANT-ID` or `auth.tenant`.
 *
 * A refused handshake never connects: the client's `connect_error` carries the code as its
 * `message` and the error body as its `data`. An admitted connection's handlers (connection,
 * messages, disconnect) run as its tenant (`TenantContext`), `@CurrentApiKey()` and
 * `@CurrentTenant()` read its key and tenant, and `ApiKeyGuard` / `@RequireScopes()` check each
 * message's scopes (a refusal is a `KeyringWsException`, emitted as `exception`). Each message
 * counts against the key's rate limit. A key that expires, or is refused when an invalidation has
 * it checked again (a revocation, in any replica), ends its connections: an `exception` event with
 * the error body, then a disconnect.
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new KeyringIoAdapter(app));
 * await app.listen(3000);
 * // client: io('http://localhost:3000', { auth: { token: key, tenant: '456' } })
 */
export class KeyringIoAdapter extends IoAdapter {
  private readonly handshakes: SocketHandshakes;
  // A namespace shared by several gateways is created once per gateway: checked once.
  private readonly checked = new WeakSet<object>();

  constructor(app: INestApplicationContext, options: KeyringSocketAdapterOptions = {}) {
    super(app);
    this.handshakes = new SocketHandshakes(app, options, new Logger('KeyringIoAdapter'));
  }

  // Typed as the installed IoAdapter's own: Nest 10 and 11 declare `Server`, Nest 12 `Server | Namespace`.
  override create(port: number, options?: Parameters<IoAdapter['create']>[1]): ReturnType<IoAdapter['create']> {
    const server = super.create(port, options);
    // Resolved now, at start-up: a missing ApiKeyModule fails the app's start, not a connection.
    void this.handshakes.keyring;
    if (!this.checked.has(server)) {
      this.checked.add(server);
      server.use((socket, next) => this.checkHandshake(socket, next));
    }
    return server;
  }

  /**
   * Nest's server, except that a session restored by socket.io's connection state recovery goes
   * through the handshake check again (socket.io skips middleware for it by default): every
   * connection is checked, restored or not.
   */
  override createIOServer(port: number, options?: ServerOptions): Server {
    if (options?.connectionStateRecovery === undefined) return super.createIOServer(port, options);
    const recovery = { ...options.connectionStateRecovery, skipMiddlewares: false };
    return super.createIOServer(port, { ...options, connectionStateRecovery: recovery });
  }

  override bindClientConnect(server: Server | Namespace, callback: (socket: Socket, ...rest: unknown[]) => void): void {
    server.on('connection', (socket: Socket, ...rest: unknown[]) => {
      // A connection our middleware never saw (a server the gateway brought itself): never let in.
      if (socketAdmissionOf(socket) === undefined) {
        this.logger.error(`Disconnected socket ${socket.id}: its handshake was not checked for an API key`);
        return void socket.disconnect(true);
      }
      // Ended when its key expires or is refused after an invalidation: the refusal, then a disconnect.
      const end = ({ response }: HandshakeRefusal) => {
        socket.emit('exception', response.body);
        socket.disconnect();
      };
      socket.once('disconnect', this.handshakes.watch(socket, end));
      runAsSocket(socket, () => callback(socket, ...rest));
    });
  }

  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const refuse = (refusal: HandshakeRefusal) => socket.emit('exception', refusal.response.body);
    super.bindMessageHandlers(socket, this.handshakes.handlers(socket, handlers, refuse), transform);
  }

  override bindClientDisconnect(client: Socket, callback: (...args: unknown[]) => void): void {
    super.bindClientDisconnect(client, (...args: unknown[]) => runAsSocket(client, () => callback(...args)));
  }

  private checkHandshake(socket: Socket, next: (error?: Error) => void): void {
    const { request } = socket;
    // Known in diagnostics messages by its namespace: a client's namespaces share one request.
    void this.handshakes
      .admit(request, socket.handshake.auth, { method: request.method, url: socket.nsp.name })
      .then((result) => {
        if (!result.ok)
          return next(Object.assign(new Error(result.refusal.code), { data: result.refusal.response.body }));
        admitSocket(socket, result.admission);
        next();
      })
      // What socket.io does after `next` (later middleware, the connection) is not ours to answer.
      .catch((error: unknown) => this.logger.error(error));
  }
}

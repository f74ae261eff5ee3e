/**
 * `nest-keyring/socket.io`: API keys for Nest WebSocket gateways on socket.io
 * (`@nestjs/platform-socket.io`, an optional peer dependency that only this entry loads). Each
 * connection's key is checked in its handshake, and again when it is invalidated.
 *
 * @example
 * import { KeyringIoAdapter } from 'nest-keyring/socket.io';
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new KeyringIoAdapter(app));
 */
export { KeyringIoAdapter, type KeyringHandshakeError } from './websockets/keyring-io.adapter.js';
export * from './websockets/shared.js';

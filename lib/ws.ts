/**
 * `nest-keyring/ws`: API keys for Nest WebSocket gateways on `ws` (`@nestjs/platform-ws`, an
 * optional peer dependency that only this entry loads). Each connection's key is checked in its
 * HTTP upgrade, and again when it is invalidated.
 *
 * @example
 * import { KeyringWsAdapter } from 'nest-keyring/ws';
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new KeyringWsAdapter(app));
 */
export { KeyringWsAdapter } from './websockets/keyring-ws.adapter.js';
export * from './websockets/shared.js';

/**
 * `nest-keyring/ws`: API keys for Nest WebSocket gateways on `ws` (`@nestjs/platform-ws`, an
 * optional peer dependency that only this entry loads). Each connection's key is checked once,
 * in its HTTP upgrade.
 *
 * @example
 * import { KeyringWsAdapter } from 'nest-keyring/ws';
 *
 * const app = await NestFactory.create(AppModule);
 * app.useWebSocketAdapter(new KeyringWsAdapter(app));
 */
export { KeyringWsAdapter } from './websockets/keyring-ws.adapter.js';
export * from './websockets/shared.js';

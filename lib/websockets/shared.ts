// The names both WebSocket entries (`nest-keyring/socket.io`, `nest-keyring/ws`) export.
export type { KeyringSocketFields } from '../nest/transports/websocket.js';
export { KeyringWsException, type HandshakeRefusal, type KeyringSocketAdapterOptions } from './socket-handshake.js';

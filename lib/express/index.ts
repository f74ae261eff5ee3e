export * from './api-key.middleware.js';
export type { KeyringIncomingMessage, KeyringLogger, KeyringMiddleware, NextFunction } from './http-types.js';
export type { KeyringSource } from './keyring-source.js';
export * from './tenant.middleware.js';
export * from './webhook-secret.middleware.js';

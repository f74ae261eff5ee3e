export * from './api-key-auth.decorator.js';
export * from './current-api-key.decorator.js';
export * from './current-tenant.decorator.js';
export * from './inject-keyring.decorator.js';
export * from './public.decorator.js';
export * from './require-scopes.decorator.js';
export * from './webhook-ack.decorator.js';
export * from './webhook-secret.decorator.js';

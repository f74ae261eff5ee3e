export * from './api-key.middleware.js';
export * from './tenant.middleware.js';

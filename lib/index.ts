// First: in CommonJS, names the Nest packages to install when they are missing.
import './nest/peers.js';

// Core: framework-free types, the Keyring and the key tools.
export * from './core/index.js';

// Nest.
export { ApiKeyCache } from './nest/api-key-cache.service.js';
export { PUBLIC_ROUTE_METADATA, REQUIRED_SCOPES_METADATA, WEBHOOK_SECRET_METADATA } from './nest/api-key.constants.js';
export { ApiKeyException, KeyringException } from './nest/keyring.exception.js';
export { ApiKeyModule } from './nest/api-key.module.js';
export type { ApiKeyModuleExtras, ApiKeyOptionsFactory } from './nest/api-key.module-definition.js';
export * from './nest/decorators/index.js';
export * from './nest/guards/index.js';
export * from './nest/interceptors/index.js';
export * from './nest/interfaces/index.js';
export * from './nest/middleware/index.js';
export { GraphqlIntrospectionCheck } from './nest/transports/graphql-introspection.js';

// Express.
export * from './express/index.js';

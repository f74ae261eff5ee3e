// Core: framework-free types and key tools.
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './core/api-key-record.js';
export { DEFAULT_KEY_PREFIXES, parseApiKey, type ParsedApiKey } from './core/api-key-format.js';
export { API_KEY_RANDOM_LENGTH, generateApiKey, type GenerateApiKeyOptions, type GeneratedApiKey } from './core/api-key-generator.js';
export { hashApiKey, lookupByHash, type HashApiKeyOptions } from './core/api-key-hash.js';
export { DEFAULT_CACHE_OPTIONS, type CacheOptions } from './core/lookup-cache.js';
export { DEFAULT_KEY_HEADERS, MAX_API_KEY_LENGTH } from './core/credentials.js';
export { ERROR_PRESETS, type ErrorFormat, type ErrorFormatter, type ErrorResponse, type FormattedError } from './core/error-format.js';
export { KeyringConfigError, type FailureReason, type KeyringFailure } from './core/failure.js';
export { Keyring, type AdmissionResult, type AuthenticationResult } from './core/keyring.js';
export type { KeyringOptions } from './core/keyring-options.js';
export { DEFAULT_LOOKUP_TIMEOUT_MS } from './core/lookup.js';
export { TenantContext, TenantContextError } from './core/tenant-context.js';
export { DEFAULT_TENANT_HEADER, MAX_TENANT_ID_LENGTH } from './core/tenant-selection.js';
export {
  DEFAULT_WEBHOOK_SECRET_NAME,
  MIN_WEBHOOK_SECRET_LENGTH,
  type BearerWebhookSecret,
  type StandardWebhookSecret,
  type WebhookSecretEntry,
  type WebhookSecretList,
  type WebhookSecrets,
} from './core/webhook-secrets.js';
export { DEFAULT_WEBHOOK_TOLERANCE_SECONDS } from './core/webhook-signature.js';

// Nest.
export { ApiKeyCache } from './nest/api-key-cache.service.js';
export { ApiKeyException } from './nest/api-key.exception.js';
export { ApiKeyModule } from './nest/api-key.module.js';
export type { ApiKeyModuleExtras, ApiKeyOptionsFactory } from './nest/api-key.module-definition.js';
export * from './nest/decorators/index.js';
export * from './nest/guards/index.js';
export * from './nest/interceptors/index.js';
export * from './nest/interfaces/index.js';
export * from './nest/middleware/index.js';

// Express.
export * from './express/index.js';

// The public, framework-free names: the root entry and `nest-keyring/express` both export them.
export { ApiKeyContext, ApiKeyContextError } from './api-key-context.js';
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './api-key-record.js';
export { DEFAULT_KEY_PREFIXES, parseApiKey, type ParsedApiKey } from './api-key-format.js';
export {
  API_KEY_RANDOM_LENGTH,
  generateApiKey,
  type GenerateApiKeyOptions,
  type GeneratedApiKey,
} from './api-key-generator.js';
export {
  DEFAULT_ROLL_OVERLAP_MS,
  MAX_ROLL_OVERLAP_MS,
  planKeyRoll,
  type KeyRollPlan,
  type PlanKeyRollOptions,
} from './key-roll.js';
export { DEFAULT_USAGE_OPTIONS, type KeyUsage, type UsageLogger, type UsageOptions } from './key-usage.js';
export { hashApiKey, lookupByHash, type HashApiKeyOptions } from './api-key-hash.js';
export { DEFAULT_CACHE_OPTIONS, type CacheOptions } from './lookup-cache.js';
export { DEFAULT_KEY_HEADERS, MAX_API_KEY_LENGTH } from './credentials.js';
export {
  KEYRING_CHANNELS,
  type AdmittedMessage,
  type DecisionRoute,
  type LookupMessage,
  type RefusedMessage,
  type StoreFaultMessage,
  type WebhookRefusedMessage,
  type WebhookVerifiedMessage,
} from './decision-events.js';
export {
  ERROR_PRESETS,
  type ErrorFormat,
  type ErrorFormatter,
  type ErrorResponse,
  type FormattedError,
} from './error-format.js';
export { KeyringConfigError, type FailureReason, type KeyringFailure } from './failure.js';
export {
  Keyring,
  type AdmissionResult,
  type AdmittedFields,
  type AuthenticationResult,
  type KeyringRuntime,
  type TenantForResult,
} from './keyring.js';
export {
  invalidationKeyHash,
  type Invalidation,
  type InvalidationBus,
  type InvalidationMessage,
  type InvalidationSubscriber,
} from './invalidation-bus.js';
export type { KeyringWarningLogger } from './invalidation-relay.js';
export type { KeyringOptions } from './keyring-options.js';
export { DEFAULT_LOOKUP_TIMEOUT_MS } from './lookup.js';
export type { MaybePromise } from './maybe-async.js';
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './memory-rate-limit-store.js';
export {
  DEFAULT_RATE_LIMIT_TIMEOUT_MS,
  rateLimitHeaders,
  type RateLimit,
  type RateLimitHit,
  type RateLimitOptions,
  type RateLimitStatus,
  type RateLimitStore,
} from './rate-limit.js';
export type { Failed, Result } from './result.js';
export { TenantContext, TenantContextError } from './tenant-context.js';
export { DEFAULT_TENANT_HEADER, MAX_TENANT_ID_LENGTH, type TenantChoice } from './tenant-selection.js';
export {
  DEFAULT_WEBHOOK_SECRET_NAME,
  MIN_WEBHOOK_SECRET_LENGTH,
  type BearerWebhookSecret,
  type StandardWebhookSecret,
  type WebhookSecretEntry,
  type WebhookSecretList,
  type WebhookSecrets,
} from './webhook-secrets.js';
export { DEFAULT_WEBHOOK_TOLERANCE_SECONDS } from './webhook-signature.js';

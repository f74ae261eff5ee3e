// The framework-free names `nest-keyring/express` exports (the root entry picks the ones a Nest app uses).
export { ApiKeyContext, ApiKeyContextError } from './api-key-context.js';
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './api-key-record.js';
export { parseApiKey, type ParsedApiKey } from './api-key-format.js';
export { generateApiKey, type GenerateApiKeyOptions, type GeneratedApiKey } from './api-key-generator.js';
export { planKeyRoll, type KeyRollPlan, type PlanKeyRollOptions } from './key-roll.js';
export { type KeyUsage, type UsageLogger, type UsageOptions } from './key-usage.js';
export { hashApiKey, lookupByHash, type HashApiKeyOptions } from './api-key-hash.js';
export { type CacheOptions } from './lookup-cache.js';
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
export type { MaybePromise } from './maybe-async.js';
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './memory-rate-limit-store.js';
export {
  rateLimitHeaders,
  type RateLimit,
  type RateLimitHit,
  type RateLimitOptions,
  type RateLimitStatus,
  type RateLimitStore,
} from './rate-limit.js';
export type { Failed, Result } from './result.js';
export { TenantContext, TenantContextError } from './tenant-context.js';
export { type TenantChoice } from './tenant-selection.js';
export {
  type BearerWebhookSecret,
  type StandardWebhookSecret,
  type WebhookSecretEntry,
  type WebhookSecretList,
  type WebhookSecrets,
} from './webhook-secrets.js';

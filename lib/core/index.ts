// The framework-free names `nest-keyring/express` exports (the root entry picks the ones a Nest app uses).
export { ApiKeyContext, ApiKeyContextError } from './context/api-key-context.js';
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './keys/api-key-record.js';
export { parseApiKey, type ParsedApiKey } from './keys/api-key-format.js';
export { generateApiKey, type GenerateApiKeyOptions, type GeneratedApiKey } from './keys/api-key-generator.js';
export { planKeyRoll, type KeyRollPlan, type PlanKeyRollOptions } from './keys/key-roll.js';
export { type KeyUsage, type UsageLogger, type UsageOptions } from './keys/key-usage.js';
export { hashApiKey, lookupByHash, type HashApiKeyOptions } from './keys/api-key-hash.js';
export { type CacheOptions } from './lookup/lookup-cache.js';
export {
  KEYRING_CHANNELS,
  type AdmittedMessage,
  type DecisionRoute,
  type LookupMessage,
  type RefusedMessage,
  type StoreFaultMessage,
  type WebhookRefusedMessage,
  type WebhookVerifiedMessage,
} from './admission/decision-events.js';
export {
  ERROR_PRESETS,
  type ErrorFormat,
  type ErrorFormatter,
  type ErrorResponse,
  type FormattedError,
} from './refusals/error-format.js';
export { KeyringConfigError, type FailureReason, type KeyringFailure } from './refusals/failure.js';
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
} from './fleet/invalidation-bus.js';
export type { KeyringWarningLogger } from './fleet/invalidation-relay.js';
export type { KeyringOptions } from './options/keyring-options.js';
export type { MaybePromise } from './maybe-async.js';
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './limits/memory-rate-limit-store.js';
export {
  rateLimitHeaders,
  type RateLimit,
  type RateLimitHit,
  type RateLimitOptions,
  type RateLimitStatus,
  type RateLimitStore,
} from './limits/rate-limit.js';
export type { Failed, Result } from './result.js';
export { TenantContext, TenantContextError } from './context/tenant-context.js';
export { type TenantChoice } from './tenants/tenant-selection.js';
export {
  type BearerWebhookSecret,
  type StandardWebhookSecret,
  type WebhookSecretEntry,
  type WebhookSecretList,
  type WebhookSecrets,
} from './webhooks/webhook-secrets.js';

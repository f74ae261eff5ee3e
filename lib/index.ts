// First: in CommonJS, names the Nest packages to install when they are missing.
import './nest/peers.js';

// The names a Nest app writes in code. Express apps import from `nest-keyring/express`; defaults
// are documented beside each option (docs/module.md), not exported one by one.

// Module and its options.
export { ApiKeyModule } from './nest/module/api-key.module.js';
export type { ApiKeyModuleOptions, ApiKeyOptionsFactory } from './nest/module/api-key.module-definition.js';
export type { KeyringOptions } from './core/options/keyring-options.js';

// Guarding routes.
export { ApiKeyGuard } from './nest/access/api-key.guard.js';
export type { KeyringRequest } from './nest/access/keyring-request.interface.js';
export { ApiKeyAuth, Public, RequireScopes } from './nest/access/access.decorators.js';
export { CurrentApiKey, CurrentTenant, InjectKeyring } from './nest/module/injection.decorators.js';
export { TenantInterceptor } from './nest/access/tenant.interceptor.js';
export { ApiKeyNestMiddleware, TenantNestMiddleware } from './nest/access/nest-middleware.js';
export { GraphqlIntrospectionCheck } from './nest/transports/graphql-introspection.js';
export { KeyringException } from './nest/refusals/keyring.exception.js';
export { ApiKeyCache } from './nest/module/api-key-cache.service.js';
// For guards of an app's own that honour the decorators.
export {
  PUBLIC_ROUTE_METADATA,
  REQUIRED_SCOPES_METADATA,
  WEBHOOK_SECRET_METADATA,
} from './nest/module/api-key.constants.js';

// Webhooks.
export { WebhookSecretGuard } from './nest/webhooks/webhook-secret.guard.js';
export { WebhookAck, WebhookSecret } from './nest/access/access.decorators.js';
export type { WebhookSecrets } from './core/webhooks/webhook-secrets.js';

// Keys, records and tenants.
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './core/keys/api-key-record.js';
export { generateApiKey, type GeneratedApiKey } from './core/keys/api-key-generator.js';
export { hashApiKey, lookupByHash } from './core/keys/api-key-hash.js';
export { parseApiKey } from './core/keys/api-key-format.js';
export { planKeyRoll, type KeyRollPlan } from './core/keys/key-roll.js';
export type { KeyUsage } from './core/keys/key-usage.js';
export { ApiKeyContext } from './core/context/api-key-context.js';
export { TenantContext } from './core/context/tenant-context.js';

// The framework-free facade, refusals and their format.
export { Keyring } from './core/keyring.js';
export { KeyringConfigError, type FailureReason, type KeyringFailure } from './core/refusals/failure.js';
export { ERROR_PRESETS, type ErrorFormatter, type ErrorResponse } from './core/refusals/error-format.js';

// Pluggable stores: rate limits and the invalidation bus.
export { MemoryRateLimitStore } from './core/limits/memory-rate-limit-store.js';
export type { RateLimitHit, RateLimitStore } from './core/limits/rate-limit.js';
export type { InvalidationBus, InvalidationMessage, InvalidationSubscriber } from './core/fleet/invalidation-bus.js';

// Diagnostics channels and their messages.
export {
  KEYRING_CHANNELS,
  type AdmittedMessage,
  type LookupMessage,
  type RefusedMessage,
  type StoreFaultMessage,
  type WebhookRefusedMessage,
  type WebhookVerifiedMessage,
} from './core/admission/decision-events.js';

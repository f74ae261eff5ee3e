// First: in CommonJS, names the Nest packages to install when they are missing.
import './nest/peers.js';

// The names a Nest app writes in code. Express apps import from `nest-keyring/express`; defaults
// are documented beside each option (docs/module.md), not exported one by one.

// Module and its options.
export { ApiKeyModule } from './nest/api-key.module.js';
export type { ApiKeyOptionsFactory } from './nest/api-key.module-definition.js';
export type { ApiKeyModuleOptions } from './nest/interfaces/api-key-module-options.interface.js';
export type { KeyringOptions } from './core/keyring-options.js';

// Guarding routes.
export { ApiKeyGuard } from './nest/guards/api-key.guard.js';
export type { KeyringRequest } from './nest/interfaces/keyring-request.interface.js';
export { ApiKeyAuth, Public, RequireScopes } from './nest/decorators/access.decorators.js';
export { CurrentApiKey, CurrentTenant, InjectKeyring } from './nest/decorators/injection.decorators.js';
export { TenantInterceptor } from './nest/interceptors/tenant.interceptor.js';
export { ApiKeyNestMiddleware, TenantNestMiddleware } from './nest/middleware/nest-middleware.js';
export { GraphqlIntrospectionCheck } from './nest/transports/graphql-introspection.js';
export { KeyringException } from './nest/keyring.exception.js';
export { ApiKeyCache } from './nest/api-key-cache.service.js';
// For guards of an app's own that honour the decorators.
export { PUBLIC_ROUTE_METADATA, REQUIRED_SCOPES_METADATA, WEBHOOK_SECRET_METADATA } from './nest/api-key.constants.js';

// Webhooks.
export { WebhookSecretGuard } from './nest/guards/webhook-secret.guard.js';
export { WebhookAck, WebhookSecret } from './nest/decorators/access.decorators.js';
export type { WebhookSecrets } from './core/webhook-secrets.js';

// Keys, records and tenants.
export type { ApiKeyLookup, ApiKeyRecord, Tenant } from './core/api-key-record.js';
export { generateApiKey, type GeneratedApiKey } from './core/api-key-generator.js';
export { hashApiKey, lookupByHash } from './core/api-key-hash.js';
export { parseApiKey } from './core/api-key-format.js';
export { planKeyRoll, type KeyRollPlan } from './core/key-roll.js';
export type { KeyUsage } from './core/key-usage.js';
export { ApiKeyContext } from './core/api-key-context.js';
export { TenantContext } from './core/tenant-context.js';

// The framework-free facade, refusals and their format.
export { Keyring } from './core/keyring.js';
export { KeyringConfigError, type FailureReason, type KeyringFailure } from './core/failure.js';
export { ERROR_PRESETS, type ErrorFormatter, type ErrorResponse } from './core/error-format.js';

// Pluggable stores: rate limits and the invalidation bus.
export { MemoryRateLimitStore } from './core/memory-rate-limit-store.js';
export type { RateLimitHit, RateLimitStore } from './core/rate-limit.js';
export type { InvalidationBus, InvalidationMessage, InvalidationSubscriber } from './core/invalidation-bus.js';

// Diagnostics channels and their messages.
export {
  KEYRING_CHANNELS,
  type AdmittedMessage,
  type LookupMessage,
  type RefusedMessage,
  type StoreFaultMessage,
  type WebhookRefusedMessage,
  type WebhookVerifiedMessage,
} from './core/decision-events.js';

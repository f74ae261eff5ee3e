export { ApiKeyGuard, type ApiKeyRequestFields, type KeyringRequest } from './api-key.guard.js';
export { WebhookSecretGuard } from './webhook-secret.guard.js';

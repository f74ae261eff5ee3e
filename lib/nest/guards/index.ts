export { ApiKeyGuard } from './api-key.guard.js';
export { WebhookSecretGuard } from './webhook-secret.guard.js';

import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { KeyringConfigError } from '../../core/failure.js';
import { DEFAULT_WEBHOOK_SECRET_NAME } from '../../core/webhook-secrets.js';
import { WEBHOOK_SECRET_METADATA } from '../api-key.constants.js';
import { WebhookSecretGuard } from '../guards/webhook-secret.guard.js';

/**
 * Protects a webhook route (or every route of a controller) with the secret of that name in
 * the module's `webhookSecrets` (`default` when no name is given). It applies
 * `WebhookSecretGuard` itself. A name that is not configured fails the app's start-up.
 *
 * @example
 * // ApiKeyModule.forRoot({ lookup, webhookSecrets: { default: process.env.WEBHOOK_SECRET, billing: [old, next] } })
 * @WebhookSecret()
 * @Post('webhooks/connexease')
 * connexease(@Body() event: unknown) {}
 *
 * @WebhookSecret('billing')
 * @Post('webhooks/billing')
 * billing(@Body() event: unknown) {}
 */
export const WebhookSecret = (name: string = DEFAULT_WEBHOOK_SECRET_NAME): MethodDecorator & ClassDecorator => {
  if (typeof name !== 'string' || name.length === 0) {
    throw new KeyringConfigError(
      `@WebhookSecret(name) takes the name of a secret in \`webhookSecrets\`; got ${JSON.stringify(name)}.`,
    );
  }
  return applyDecorators(SetMetadata(WEBHOOK_SECRET_METADATA, name), UseGuards(WebhookSecretGuard));
};

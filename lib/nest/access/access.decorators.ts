import { applyDecorators, HttpCode, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { KeyringConfigError } from '../../core/refusals/failure.js';
import { DEFAULT_WEBHOOK_SECRET_NAME } from '../../core/webhooks/webhook-secrets.js';
import {
  PUBLIC_ROUTE_METADATA,
  REQUIRED_SCOPES_METADATA,
  WEBHOOK_SECRET_METADATA,
} from '../module/api-key.constants.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { WebhookSecretGuard } from '../webhooks/webhook-secret.guard.js';
import { WebhookAckInterceptor } from '../webhooks/webhook-ack.interceptor.js';

/**
 * Protects a controller or a route in one line: `ApiKeyGuard` checks the key, chooses the
 * tenant and checks scopes, and the handler (and everything it starts) runs in the tenant's
 * context, a scope of the request's own. No interceptor is needed for that; use
 * `TenantInterceptor` where another mechanism authenticates the request.
 *
 * @example
 * @ApiKeyAuth()
 * @Controller('api/v1/messages')
 * export class MessagesController {}
 */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(ApiKeyGuard));

/**
 * Lets a route (or every route of a controller) through without an API key, when the guard is
 * registered for every route (`protectAllRoutes: true`) or on the controller.
 *
 * @example
 * @Public()
 * @Get('health')
 * health() { return { ok: true }; }
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

/**
 * Requires the key to hold every listed scope; otherwise 403 `INSUFFICIENT_SCOPE`.
 * Scopes on a controller and on its route add up. It applies `ApiKeyGuard` itself, so a scope
 * can never be declared on a route that nothing checks.
 *
 * @example
 * @RequireScopes('messages:send')
 * @Post('messages/send')
 * send() {}
 */
export const RequireScopes = (...scopes: string[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(REQUIRED_SCOPES_METADATA, scopes), UseGuards(ApiKeyGuard));

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

/**
 * Answers a webhook route with 200 and an empty body at once, then runs its handler: see
 * `WebhookAckInterceptor`. A route decorator (`@HttpCode` applies to routes only). Put it beside
 * `@WebhookSecret()`, whose guard runs first, so only checked webhooks are acknowledged.
 *
 * @example
 * @WebhookSecret()
 * @WebhookAck()
 * @Post('webhooks/connexease')
 * async receive(@Body() event: ConnexeaseEvent) {
 *   await this.events.process(event); // after the 200; errors are logged
 * }
 */
export const WebhookAck = (): MethodDecorator => applyDecorators(HttpCode(200), UseInterceptors(WebhookAckInterceptor));

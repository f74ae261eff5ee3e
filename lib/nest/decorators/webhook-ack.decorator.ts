import { applyDecorators, HttpCode, UseInterceptors } from '@nestjs/common';
import { WebhookAckInterceptor } from '../interceptors/webhook-ack.interceptor.js';

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

import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../guards/api-key.guard.js';

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

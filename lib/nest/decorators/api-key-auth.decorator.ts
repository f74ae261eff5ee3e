import { applyDecorators, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiKeyGuard } from '../guards/api-key.guard.js';
import { TenantInterceptor } from '../interceptors/tenant.interceptor.js';

/**
 * Protects a controller or a route in one line: `ApiKeyGuard` (key, tenant, scopes) plus
 * `TenantInterceptor` (the handler runs in the tenant's context).
 *
 * @example
 * @ApiKeyAuth()
 * @Controller('api/v1/messages')
 * export class MessagesController {}
 */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(ApiKeyGuard), UseInterceptors(TenantInterceptor));

import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Tenant } from '../../core/api-key-record.js';
import type { ApiKeyRequestFields } from '../guards/api-key.guard.js';

/**
 * Injects the tenant the request acts for, or one of its fields.
 *
 * @example
 * @ApiKeyAuth()
 * @Get('me')
 * me(@CurrentTenant() tenant: Tenant, @CurrentTenant('id') tenantId: number) {}
 */
export const CurrentTenant: (field?: string) => ParameterDecorator = createParamDecorator(
  (field: string | undefined, context: ExecutionContext) => {
    const request = context.switchToHttp().getRequest<ApiKeyRequestFields & { raw?: ApiKeyRequestFields }>();
    // On Fastify, middleware (tenantMiddleware) writes to the raw Node request.
    const tenant: Tenant | undefined = request.tenant ?? request.raw?.tenant;
    return field === undefined ? tenant : tenant?.[field];
  },
);

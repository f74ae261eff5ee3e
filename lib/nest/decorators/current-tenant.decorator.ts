import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Tenant } from '../../core/api-key-record.js';
import { TenantContextError } from '../../core/tenant-context.js';
import type { ApiKeyRequestFields } from '../interfaces/keyring-request.interface.js';
import { transportRequestOf } from '../transports/transport-request.js';

/**
 * Injects the tenant the request acts for, or one of its fields. Like `TenantContext.tenant`, it
 * throws `TenantContextError` (the request fails with 500) where no tenant was chosen: never an
 * `undefined` typed as a tenant.
 *
 * @example
 * @ApiKeyAuth()
 * @Get('me')
 * me(@CurrentTenant() tenant: Tenant, @CurrentTenant('id') tenantId: number) {}
 */
export const CurrentTenant: (field?: string) => ParameterDecorator = createParamDecorator(
  (field: string | undefined, context: ExecutionContext) => {
    const request: (ApiKeyRequestFields & { raw?: ApiKeyRequestFields }) | undefined = transportRequestOf(context);
    // On Fastify, middleware (tenantMiddleware) writes to the raw Node request.
    const tenant: Tenant | undefined = request?.tenant ?? request?.raw?.tenant;
    if (tenant === undefined) {
      throw new TenantContextError(
        'nest-keyring: @CurrentTenant() on a route where no tenant was chosen. Tenants are chosen by ApiKeyGuard ' +
          '(@ApiKeyAuth(), with tenancy on), TenantInterceptor and tenantMiddleware.',
      );
    }
    return field === undefined ? tenant : tenant?.[field];
  },
);

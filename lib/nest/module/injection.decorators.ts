import { createParamDecorator, Inject, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyRecord, Tenant } from '../../core/keys/api-key-record.js';
import { TenantContextError } from '../../core/context/tenant-context.js';
import { KEYRING } from './api-key.constants.js';
import type { AdmittedFields } from '../../core/keyring.js';
import { transportRequestOf } from '../transports/transport-request.js';

/**
 * Injects the `Keyring` that `ApiKeyModule` configured (one per app: its options, its cache),
 * so a service of yours can make the same decisions as the guards: authenticate a key that
 * arrives another way, pick a tenant, shape a refusal.
 *
 * @example
 * @Injectable()
 * export class KeyCheckService {
 *   constructor(@InjectKeyring() private readonly keyring: Keyring) {}
 *
 *   async isValid(key: string): Promise<boolean> {
 *     return (await this.keyring.authenticate({ 'x-api-key': key })).ok;
 *   }
 * }
 */
export const InjectKeyring = (): PropertyDecorator & ParameterDecorator => Inject(KEYRING);

/**
 * Injects the authenticated key's record, or one of its fields.
 *
 * @example
 * @Get('me')
 * me(@CurrentApiKey() key: ApiKeyRecord, @CurrentApiKey('id') keyId: string) {}
 */
export const CurrentApiKey: (field?: keyof ApiKeyRecord) => ParameterDecorator = createParamDecorator(
  (field: keyof ApiKeyRecord | undefined, context: ExecutionContext) => {
    const request: (AdmittedFields & { raw?: AdmittedFields }) | undefined = transportRequestOf(context);
    // On Fastify, middleware (apiKeyMiddleware) writes to the raw Node request.
    const record = request?.apiKey ?? request?.raw?.apiKey;
    return field === undefined ? record : record?.[field];
  },
);

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
    const request: (AdmittedFields & { raw?: AdmittedFields }) | undefined = transportRequestOf(context);
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

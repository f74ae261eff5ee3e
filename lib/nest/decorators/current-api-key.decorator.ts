import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyRecord } from '../../core/api-key-record.js';
import type { ApiKeyRequestFields } from '../interfaces/keyring-request.interface.js';
import { transportRequestOf } from '../transports/transport-request.js';

/**
 * Injects the authenticated key's record, or one of its fields.
 *
 * @example
 * @Get('me')
 * me(@CurrentApiKey() key: ApiKeyRecord, @CurrentApiKey('id') keyId: string) {}
 */
export const CurrentApiKey: (field?: keyof ApiKeyRecord) => ParameterDecorator = createParamDecorator(
  (field: keyof ApiKeyRecord | undefined, context: ExecutionContext) => {
    const request: (ApiKeyRequestFields & { raw?: ApiKeyRequestFields }) | undefined = transportRequestOf(context);
    // On Fastify, middleware (apiKeyMiddleware) writes to the raw Node request.
    const record = request?.apiKey ?? request?.raw?.apiKey;
    return field === undefined ? record : record?.[field];
  },
);

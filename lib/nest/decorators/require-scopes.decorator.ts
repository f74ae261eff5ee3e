import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { REQUIRED_SCOPES_METADATA } from '../api-key.constants.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';

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

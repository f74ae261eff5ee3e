import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ApiKeyRecord } from '../../core/api-key-record.js';
import type { KeyringFailure } from '../../core/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { KEYRING, PUBLIC_ROUTE_METADATA, REQUIRED_SCOPES_METADATA } from '../api-key.constants.js';
import { ApiKeyException } from '../api-key.exception.js';

/** What the guard adds to the request object. */
export interface ApiKeyRequestFields {
  /** The authenticated key's record (with `environment` filled from the key's prefix). */
  apiKey?: ApiKeyRecord;
}

// Requests this process has already authenticated: a global guard plus a route's own
// `@UseGuards(ApiKeyGuard)` must not look the key up twice.
const authenticated = new WeakMap<object, ApiKeyRecord>();

/**
 * Authenticates the request's API key and puts its record on `request.apiKey`.
 * Honours `@Public()` and `@RequireScopes()`. Refusals are thrown as `ApiKeyException`
 * with the configured error body and a `WWW-Authenticate` header.
 *
 * Hooks are `protected` so a subclass can change one decision without copying the rest.
 *
 * @example
 * @UseGuards(ApiKeyGuard)
 * @Controller('messages')
 * export class MessagesController {}
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  protected readonly logger = new Logger('ApiKeyGuard');

  constructor(
    @Inject(KEYRING) protected readonly keyring: Keyring,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic(context)) return true;
    // Only HTTP requests carry the headers this guard reads; anything else is refused.
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<Record<string, unknown> & ApiKeyRequestFields>();
    const record = authenticated.get(request) ?? (await this.authenticate(context, request));
    const scopeFailure = this.keyring.checkScopes(record, this.getRequiredScopes(context));
    if (scopeFailure) this.reject(context, scopeFailure);
    return true;
  }

  /** True when `@Public()` is on the route or its controller. */
  protected isPublic(context: ExecutionContext): boolean {
    return this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE_METADATA, [context.getHandler(), context.getClass()]) === true;
  }

  /** Scopes from `@RequireScopes()` on the controller and on the route, together. */
  protected getRequiredScopes(context: ExecutionContext): string[] {
    return this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_METADATA, [context.getHandler(), context.getClass()]) ?? [];
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    const response = this.keyring.errorResponse(failure);
    if (failure.reason === 'lookup_unavailable') {
      // The cause is already redacted: it never holds the key.
      this.logger.error(`API key lookup failed; answered ${response.status}`, failure.cause);
    }
    const reply = context.switchToHttp().getResponse();
    for (const [name, value] of Object.entries(response.headers)) {
      this.adapterHost.httpAdapter.setHeader(reply, name, value);
    }
    throw new ApiKeyException(failure, response);
  }

  private async authenticate(context: ExecutionContext, request: Record<string, unknown> & ApiKeyRequestFields): Promise<ApiKeyRecord> {
    const result = await this.keyring.authenticate(request.headers as Record<string, unknown>);
    if (!result.ok) this.reject(context, result.failure);
    const record =
      result.environment !== undefined && result.record.environment === undefined
        ? { ...result.record, environment: result.environment }
        : result.record;
    authenticated.set(request, record);
    request.apiKey = record;
    return record;
  }
}

import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ApiKeyRecord, Tenant } from '../../core/api-key-record.js';
import type { KeyringFailure } from '../../core/failure.js';
import type { AdmissionResult, Keyring } from '../../core/keyring.js';
import { enterTenant } from '../../core/tenant-context.js';
import { KEYRING, REQUIRED_SCOPES_METADATA } from '../api-key.constants.js';
import { isPublicRoute, refuse } from '../refusal.js';

/** What the guard adds to the request object. */
export interface ApiKeyRequestFields {
  /** The authenticated key's record (with `environment` filled from the key's prefix). */
  apiKey?: ApiKeyRecord;
  /** The tenant the request acts for (with `tenancy` on). */
  tenant?: Tenant;
}

/** A request as the guard and the interceptor see it. */
export type KeyringRequest = Record<string, unknown> & ApiKeyRequestFields & { [ADMITTED]?: ApiKeyRecord };

// Marks a request this guard has already admitted: a global guard plus a route's own
// `@UseGuards(ApiKeyGuard)` must not look the key up twice. A private symbol, so nothing the
// application or a client puts on the request can pass for it (and cheaper than a WeakMap).
const ADMITTED = Symbol('nest-keyring:admitted');

/**
 * Authenticates the request's API key and puts its record on `request.apiKey`; with `tenancy`
 * on (the default) it also picks the tenant (`request.tenant`), so guards after it, and
 * exception filters, already see the tenant, and a tenant error is answered before them.
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

  // Not `async`: a key the cache holds is answered with a plain `true`, which Nest's guard
  // consumer takes without awaiting; a `Promise` only when the key store is asked.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    // Only HTTP requests carry the headers this guard reads; anything else is refused.
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<KeyringRequest>();
    const admitted = request[ADMITTED];
    if (admitted !== undefined) return this.checkRouteScopes(context, admitted);
    const admission = this.keyring.admitNow(request.headers as Record<string, unknown>);
    return admission instanceof Promise
      ? admission.then((result) => this.accept(context, request, result))
      : this.accept(context, request, admission);
  }

  /** True when `@Public()` is on the route or its controller. */
  protected isPublic(context: ExecutionContext): boolean {
    return isPublicRoute(this.reflector, context);
  }

  /** Scopes from `@RequireScopes()` on the controller and on the route, together. */
  protected getRequiredScopes(context: ExecutionContext): string[] {
    return this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_METADATA, [context.getHandler(), context.getClass()]) ?? [];
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }

  private accept(context: ExecutionContext, request: KeyringRequest, admission: AdmissionResult): boolean {
    if (!admission.ok) this.reject(context, admission.failure);
    const { record, tenant } = admission;
    request[ADMITTED] = record;
    // Into the request's tenant scope (opened by ApiKeyModule's scope middleware): the handler
    // and all it starts read the tenant from TenantContext.
    if (tenant !== undefined) enterTenant(tenant);
    request.apiKey = record;
    request.tenant = tenant;
    return this.checkRouteScopes(context, record);
  }

  private checkRouteScopes(context: ExecutionContext, record: ApiKeyRecord): true {
    const scopeFailure = this.keyring.checkScopes(record, this.getRequiredScopes(context));
    if (scopeFailure) this.reject(context, scopeFailure);
    return true;
  }
}

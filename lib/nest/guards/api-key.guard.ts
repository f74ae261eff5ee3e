import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ApiKeyRecord, Tenant } from '../../core/api-key-record.js';
import type { KeyringFailure } from '../../core/failure.js';
import { decisionStarted, publishAdmitted, publishRefused } from '../../core/decision-events.js';
import type { AdmissionResult, Keyring } from '../../core/keyring.js';
import { isPending } from '../../core/maybe-async.js';
import { rateLimitHeaders } from '../../core/rate-limit.js';
import { admissionOf, nodeRequestOf, recordAdmission, type Admission } from '../../core/request-admission.js';
import { requiresApiKey, type AccessDeclarations } from '../../core/route-access.js';
import { enterRequestScope, setScopeAdmission, type TenantScope } from '../../core/tenant-context.js';
import { KEYRING, REQUIRED_SCOPES_METADATA } from '../api-key.constants.js';
import { refuse, responseSent } from '../refusal.js';
import { declarationsOf, type MetadataTarget } from '../route-declarations.js';
import { transportRequestOf } from '../transports/transport-request.js';
import { canActivateSocketMessage } from '../transports/websocket.js';
import { WebhookSecretGuard } from './webhook-secret.guard.js';

/** What the guard adds to the request object. */
export interface ApiKeyRequestFields {
  /** The authenticated key's record (with `environment` filled from the key's prefix). */
  apiKey?: ApiKeyRecord;
  /** The tenant the request acts for (with `tenancy` on). */
  tenant?: Tenant;
}

/** A request as the guard and the interceptor see it. */
export type KeyringRequest = Record<string, unknown> & ApiKeyRequestFields & { headers: Record<string, unknown> };

/** What the guard decides once per route (a controller class and a handler). */
interface RoutePolicy {
  requiresKey: boolean;
  scopes: readonly string[];
}

/**
 * Authenticates the request's API key and puts its record on `request.apiKey`; with `tenancy`
 * on (the default) it also picks the tenant (`request.tenant`), so guards after it, and
 * exception filters, already see the tenant, and a tenant error is answered before them.
 * Honours `@Public()` and `@RequireScopes()`, the nearest declaration winning (a route's own
 * auth inside a `@Public()` controller is enforced). Refusals are thrown as `KeyringException`
 * with the configured error body and a `WWW-Authenticate` header.
 *
 * Hooks are `protected` so a subclass can change one decision without copying the rest; every
 * read of the request goes through `getRequest`, so a subclass can serve another transport.
 *
 * @example
 * @UseGuards(ApiKeyGuard)
 * @Controller('messages')
 * export class MessagesController {}
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  protected readonly logger = new Logger('ApiKeyGuard');
  // Decided once per route: metadata never changes after start-up.
  private readonly policies = new WeakMap<MetadataTarget, WeakMap<MetadataTarget, RoutePolicy>>();

  constructor(
    @Inject(KEYRING) protected readonly keyring: Keyring,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  // Not `async`: a key the cache holds is answered with a plain `true`, which Nest's guard
  // consumer takes without awaiting; a `Promise` only when the key store is asked.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // A gateway's message: its connection's key and tenant were decided in the handshake.
    if (context.getType() === 'ws') {
      return canActivateSocketMessage(this.keyring, context, !this.isPublic(context), this.getRequiredScopes(context));
    }
    const request = this.getRequest(context);
    // No request to read a key from (a transport this guard was not taught): refused.
    if (request === undefined) return this.isPublic(context);
    const nodeRequest = nodeRequestOf(request) as { rawHeaders?: string[]; socket?: { remoteAddress?: string } };
    // First, before anything is awaited: whatever async context a middleware resumed this
    // request in, its handler runs in its own scope (tenant and key: TenantContext, ApiKeyContext).
    const scope = enterRequestScope(nodeRequest);
    if (this.isPublic(context)) return true;
    // For `nest-keyring:*` diagnostics messages; reads no clock while nobody subscribes.
    const started = decisionStarted();
    const admitted = admissionOf(request);
    if (admitted !== undefined) {
      // Admitted by apiKeyMiddleware or an earlier ApiKeyGuard: same tenant, same scope.
      setScopeAdmission(scope, admitted.record, admitted.tenant);
      return this.checkRouteScopes(context, request, admitted, started, false);
    }
    const admission = this.keyring.admit(request.headers, nodeRequest.rawHeaders, nodeRequest.socket?.remoteAddress);
    // A key the cache holds is decided now, with no closure and no promise; only an answer that
    // had to be awaited can come late (after a timeout answered the client).
    if (!isPending(admission)) return this.grant(context, request, scope, started, admission, false);
    return admission.then((result) => this.grant(context, request, scope, started, result, true));
  }

  /** Puts an admission on the request and its scope, or throws its refusal. */
  private grant(
    context: ExecutionContext,
    request: KeyringRequest,
    scope: TenantScope,
    started: number,
    result: AdmissionResult,
    awaited: boolean,
  ): boolean {
    if (!result.ok) this.refuseRequest(context, request, started, result.failure);
    // A late answer: the handler must not run.
    if (awaited && responseSent(this.adapterHost, context)) return false;
    this.reportRateLimit(context, result);
    const recorded = recordAdmission(request, result);
    setScopeAdmission(scope, recorded.record, recorded.tenant);
    request.apiKey = recorded.record;
    request.tenant = recorded.tenant;
    return this.checkRouteScopes(context, request, recorded, started, true);
  }

  /**
   * The request this guard reads the key from and puts `apiKey` and `tenant` on: for HTTP,
   * `context.switchToHttp().getRequest()`; for a GraphQL resolver (Apollo or Mercurius), the
   * HTTP request of the operation, from the GraphQL context. `undefined` means the context
   * carries no request this guard can read, and the route is refused unless it is `@Public()`.
   * This is the extension point for any other transport: override it and return an object
   * with lower-cased `headers` (and `rawHeaders` where the transport has them); the guard
   * puts `apiKey` and `tenant` on it.
   *
   * @example
   * @Injectable()
   * export class RpcApiKeyGuard extends ApiKeyGuard {
   *   protected override getRequest(context: ExecutionContext): KeyringRequest | undefined {
   *     // A message that carries its caller's headers, e.g. { headers: { 'x-api-key': '…' }, … }.
   *     if (context.getType() === 'rpc') return context.switchToRpc().getData<KeyringRequest>();
   *     return super.getRequest(context);
   *   }
   * }
   */
  protected getRequest(context: ExecutionContext): KeyringRequest | undefined {
    return transportRequestOf(context);
  }

  /** True when the route needs no API key: `@Public()` (or a webhook route) is its nearest declaration. */
  protected isPublic(context: ExecutionContext): boolean {
    return !this.policyOf(context).requiresKey;
  }

  /** Scopes from `@RequireScopes()` on the controller and on the route, together. */
  protected getRequiredScopes(context: ExecutionContext): readonly string[] {
    return this.policyOf(context).scopes;
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }

  /**
   * For an admitted request: sets `RateLimit-Policy` and `RateLimit` through the adapter where
   * a limit applies, and logs a rate-limit store outage's warning (once per outage).
   */
  private reportRateLimit(context: ExecutionContext, result: Extract<AdmissionResult, { ok: true }>): void {
    if (result.warning !== undefined) this.logger.warn(result.warning);
    if (result.rateLimit === undefined || context.getType() !== 'http') return;
    const reply: unknown = context.switchToHttp().getResponse();
    for (const [name, value] of Object.entries(rateLimitHeaders(result.rateLimit)))
      this.adapterHost.httpAdapter.setHeader(reply, name, value);
  }

  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.policies.get(handler);
    if (byController === undefined) this.policies.set(handler, (byController = new WeakMap()));
    let policy = byController.get(controller);
    if (policy === undefined) byController.set(controller, (policy = this.decidePolicy(handler, controller)));
    return policy;
  }

  private decidePolicy(handler: MetadataTarget, controller: MetadataTarget): RoutePolicy {
    const requiresKey = routeRequiresApiKey(this.reflector, handler, controller);
    const scopes = this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_METADATA, [handler, controller]) ?? [];
    return Object.freeze({ requiresKey, scopes: Object.freeze(scopes) });
  }

  /** Checks the route's scopes; `admittedNow`: this guard admitted the key (else an earlier check did, and said so). */
  private checkRouteScopes(
    context: ExecutionContext,
    request: KeyringRequest,
    admission: Admission,
    started: number,
    admittedNow: boolean,
  ): true {
    const scopeFailure = this.keyring.checkScopes(admission.record, this.getRequiredScopes(context));
    if (scopeFailure) this.refuseRequest(context, request, started, scopeFailure, admission);
    if (admittedNow) publishAdmitted(started, request, admission.record, admission.tenant);
    return true;
  }

  /** Publishes the refusal on `nest-keyring:refused` (when someone listens), then `reject`s. */
  private refuseRequest(
    context: ExecutionContext,
    request: KeyringRequest,
    started: number,
    failure: KeyringFailure,
    admission?: Admission,
  ): never {
    publishRefused(started, request, failure, this.keyring, admission?.record, admission?.tenant);
    this.reject(context, failure);
  }
}

// The guards whose presence on a route or a controller declares how it is authenticated.
const DECLARING_GUARDS = { apiKey: ApiKeyGuard, webhook: WebhookSecretGuard };

/** What a route handler, or a controller, declares about its authentication (internal). */
export function routeDeclarations(reflector: Reflector, target: MetadataTarget): AccessDeclarations {
  return declarationsOf(reflector, target, DECLARING_GUARDS);
}

/** Whether a route needs an API key, the nearest declaration winning (internal; see `requiresApiKey`). */
export function routeRequiresApiKey(
  reflector: Reflector,
  handler: MetadataTarget,
  controller: MetadataTarget,
): boolean {
  return requiresApiKey(routeDeclarations(reflector, handler), routeDeclarations(reflector, controller));
}

import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { admitRequest } from '../../core/admission/admit-request.js';
import { nodeRequestOf } from '../../core/admission/request-admission.js';
import type { KeyringFailure } from '../../core/refusals/failure.js';
import type { AdmissionResult, Keyring } from '../../core/keyring.js';
import { isPending } from '../../core/maybe-async.js';
import { rateLimitHeaders } from '../../core/limits/rate-limit.js';
import { requiresApiKey, type AccessDeclarations } from '../../core/admission/route-access.js';
import { enterRequestScope, setScopeAdmission, type TenantScope } from '../../core/context/tenant-context.js';
import { KEYRING, REQUIRED_SCOPES_METADATA } from '../module/api-key.constants.js';
import type { KeyringRequest } from './keyring-request.interface.js';
import { refuse, responseSent } from '../refusals/refusal.js';
import { declarationsOf, type MetadataTarget } from './route-declarations.js';
import { isGraphqlRootField } from '../transports/graphql.js';
import { admissionInputOf, transportRequestOf } from '../transports/transport-request.js';
import { canActivateSocketMessage } from '../transports/websocket.js';
import { WebhookSecretGuard } from '../webhooks/webhook-secret.guard.js';

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
    if (context.getType() === 'ws')
      return canActivateSocketMessage(this.keyring, context, !this.isPublic(context), this.getRequiredScopes(context));
    const request = this.getRequest(context);
    // No request to read a key from (a transport this guard was not taught): refused.
    if (request === undefined) return this.isPublic(context);
    // First, before anything is awaited: whatever async context a middleware resumed this
    // request in, its handler runs in its own scope (tenant and key: TenantContext, ApiKeyContext).
    const scope = enterRequestScope(nodeRequestOf(request));
    if (this.isPublic(context)) return true;
    const decision = admitRequest(
      this.keyring,
      admissionInputOf(request, this.getRequiredScopes(context), isGraphqlRootField(context)),
    );
    if (!isPending(decision)) return this.translate(context, scope, decision);
    // Only an answer that had to be awaited can come late: after a timeout answered the client.
    return decision.then((settled) => this.translate(context, scope, settled, responseSent(this.adapterHost, context)));
  }

  /** Throws a refusal; for an admission, reports its rate limit and fills in the request's scope. */
  private translate(context: ExecutionContext, scope: TenantScope, decision: AdmissionResult, late = false): boolean {
    if (!decision.ok) this.reject(context, decision.failure);
    // The response was sent: the handler must not run.
    if (late) return false;
    if (decision.warning !== undefined) this.logger.warn(decision.warning);
    if (decision.rateLimit !== undefined && context.getType() === 'http') {
      // getArgByIndex(1) is switchToHttp().getResponse() without the object switchToHttp() builds.
      const reply: unknown = context.getArgByIndex(1);
      for (const [name, value] of Object.entries(rateLimitHeaders(decision.rateLimit)))
        this.adapterHost.httpAdapter.setHeader(reply, name, value);
    }
    setScopeAdmission(scope, decision.record, decision.tenant);
    return true;
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

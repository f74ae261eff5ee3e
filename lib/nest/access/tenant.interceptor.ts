import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import { decisionStarted, publishRefused } from '../../core/admission/decision-events.js';
import type { KeyringFailure } from '../../core/refusals/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { then } from '../../core/maybe-async.js';
import { admissionOf } from '../../core/admission/request-admission.js';
import { currentScopeKey, runInScope, TenantContext } from '../../core/context/tenant-context.js';
import { KEYRING } from '../module/api-key.constants.js';
import { routeRequiresApiKey } from './api-key.guard.js';
import type { KeyringRequest } from './keyring-request.interface.js';
import { refuse } from '../refusals/refusal.js';
import { transportRequestOf } from '../transports/transport-request.js';

/**
 * Runs the handler inside a tenant context of its own, for routes that another mechanism
 * authenticates: it takes the tenant `ApiKeyGuard` chose (never another), or chooses one from
 * the record on `request.apiKey`, and answers 401, never running the handler, where no key was
 * authenticated.
 *
 * Routes behind `ApiKeyGuard` / `@ApiKeyAuth()` do not need it: `ApiKeyModule` opens a tenant
 * scope for every request and the guard fills it in, which costs far less than an interceptor.
 * Every read of the request goes through `getRequest`, so a subclass can serve another transport.
 *
 * @example
 * @UseGuards(MyOwnKeyGuard)             // puts an ApiKeyRecord on request.apiKey
 * @UseInterceptors(TenantInterceptor)
 * @Controller('messages')
 * export class MessagesController {}
 */
@Injectable()
export class TenantInterceptor implements NestInterceptor {
  protected readonly logger = new Logger('TenantInterceptor');

  constructor(
    @Inject(KEYRING) protected readonly keyring: Keyring,
    protected readonly tenantContext: TenantContext,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  // Not `async`: when the guard already chose the tenant the Observable is returned at once.
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    const request = this.getRequest(context);
    if (request === undefined || this.isPublic(context)) return next.handle();
    const started = decisionStarted();
    return then(this.keyring.tenantFor(request, request.headers), (choice): Observable<unknown> => {
      if (!choice.ok) {
        publishRefused(started, request, choice.failure, this.keyring, request.apiKey);
        this.reject(context, choice.failure);
      }
      const { tenant } = choice;
      // The key's record for ApiKeyContext: the one ApiKeyGuard admitted, else another mechanism's.
      const key = admissionOf(request)?.record ?? request.apiKey;
      // No tenant (`tenancy` off) and the key already in the context: nothing to add.
      if (tenant === undefined && (key === undefined || currentScopeKey() === key)) return next.handle();
      if (tenant !== undefined) request.tenant = tenant;
      // `next.handle()` must be called inside run(): Nest binds the handler to the async
      // context current at that call.
      return new Observable((subscriber) => runInScope(tenant, key, () => next.handle().subscribe(subscriber)));
    });
  }

  /**
   * The request whose key record and tenant header are read, and `tenant` is put on: for HTTP,
   * `context.switchToHttp().getRequest()`; for a GraphQL resolver, the operation's HTTP request
   * (as `ApiKeyGuard` reads it). `undefined` means the context carries no request,
   * and the handler runs without a tenant context. Override it to serve another transport.
   *
   * @example
   * @Injectable()
   * export class RpcTenantInterceptor extends TenantInterceptor {
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

  /** True when `@Public()` is the route's nearest declaration (as `ApiKeyGuard` decides). */
  protected isPublic(context: ExecutionContext): boolean {
    return !routeRequiresApiKey(this.reflector, context.getHandler(), context.getClass());
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }
}

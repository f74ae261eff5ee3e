import { Inject, Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import type { Tenant } from '../../core/api-key-record.js';
import type { KeyringFailure } from '../../core/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { TenantContext } from '../../core/tenant-context.js';
import { KEYRING } from '../api-key.constants.js';
import type { KeyringRequest } from '../guards/api-key.guard.js';
import { isPublicRoute, refuse } from '../refusal.js';

/**
 * Runs the handler inside the request's tenant context, so `TenantContext` answers in every
 * service, repository and async task the handler starts.
 *
 * The tenant is normally chosen by `ApiKeyGuard` (guards run first, so later guards and
 * exception filters see it); when another mechanism authenticated the request, this
 * interceptor chooses it from `request.apiKey`. Without an authenticated key it answers 401
 * and the handler never runs.
 *
 * @example
 * @UseGuards(ApiKeyGuard)
 * @UseInterceptors(TenantInterceptor)   // or simply @ApiKeyAuth()
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

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http' || isPublicRoute(this.reflector, context)) return next.handle();
    const request = context.switchToHttp().getRequest<KeyringRequest>();
    const tenant = request.tenant ?? (await this.chooseTenant(context, request));
    if (tenant === undefined) return next.handle();
    // `next.handle()` must be called inside run(): Nest binds the handler to the async
    // context current at that call.
    return new Observable((subscriber) => this.tenantContext.run(tenant, () => next.handle().subscribe(subscriber)));
  }

  /** Chooses the tenant when no guard of ours did; `undefined` with `tenancy: false`. */
  private async chooseTenant(context: ExecutionContext, request: KeyringRequest): Promise<Tenant | undefined> {
    if (request.apiKey === undefined) this.reject(context, { reason: 'missing' });
    if (!this.keyring.options.tenancy) return undefined;
    const choice = await this.keyring.selectTenant(request.apiKey, request.headers as Record<string, unknown>);
    if (!choice.ok) this.reject(context, choice.failure);
    request.tenant = choice.tenant;
    return choice.tenant;
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }
}

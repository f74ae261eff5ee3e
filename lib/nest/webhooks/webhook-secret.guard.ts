import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { KeyringFailure } from '../../core/refusals/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { DEFAULT_WEBHOOK_SECRET_NAME } from '../../core/webhooks/webhook-secrets.js';
import { KEYRING, WEBHOOK_SECRET_METADATA } from '../module/api-key.constants.js';
import { refuse } from '../refusals/refusal.js';
import type { KeyringRequest } from '../access/keyring-request.interface.js';

/**
 * Checks that a webhook comes from its sender, before the handler sees the payload: the
 * route's secret (`@WebhookSecret(name)`, else `default`) from the module's `webhookSecrets`.
 *
 * - A Bearer secret (`Authorization: Bearer <secret>`, as the Connexease Gateway sends) is
 *   compared in constant time with every configured secret of that name.
 * - `Authorization` (Bearer) or a `webhook-*` header (signed) sent on more than one line is
 *   refused as malformed, on both adapters, whatever the lines say.
 * - A Standard Webhooks secret checks `webhook-signature` against the raw body bytes
 *   (`NestFactory.create(AppModule, { rawBody: true })`; the app fails to start without it). A
 *   body that was not kept as bytes (a content type Nest keeps none for, a parser of the app's
 *   own) is never checked against re-serialised JSON: it is refused like a bad signature, 401
 *   `INVALID_WEBHOOK_SIGNATURE`, and a warning with the fix is logged once.
 *
 * Refusals are `KeyringException`s in the configured error format; the handler never runs, and
 * no secret appears in a response or a log line. `@Public()` does not skip this guard: it only
 * concerns API keys. Hooks are `protected` so a subclass can change one decision; every read
 * of the request goes through `getRequest`.
 *
 * @example
 * @WebhookSecret()            // applies this guard with the `default` secret
 * @Post('webhooks/connexease')
 * receive(@Body() event: unknown) {}
 */
@Injectable()
export class WebhookSecretGuard implements CanActivate {
  protected readonly logger = new Logger('WebhookSecretGuard');

  constructor(
    @Inject(KEYRING) protected readonly keyring: Keyring,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = this.getRequest(context);
    // No request to check (a transport this guard was not taught): refused.
    if (request === undefined) return false;
    const { webhooks } = this.keyring;
    // Start-up already checked every route (RoutesCheck); this only guards a guard applied in a
    // way no scan can see. A configuration error answers 500, never a grant.
    const route = `${context.getClass().name}.${context.getHandler().name}`;
    const result = webhooks.check(webhooks.secret(this.getSecretName(context), route), request, this.now());
    if (result.ok) return true;
    if (result.warning !== undefined) this.logger.warn(result.warning);
    this.reject(context, result.failure);
  }

  /**
   * The request whose headers and raw body are checked: for HTTP,
   * `context.switchToHttp().getRequest()`. `undefined` means the context carries no request
   * this guard can read, and it is refused. Override it to serve another transport; its request
   * needs lower-cased `headers`, and `rawBody` (bytes) for a Standard Webhooks secret.
   *
   * @example
   * @Injectable()
   * export class QueuedWebhookGuard extends WebhookSecretGuard {
   *   protected override getRequest(context: ExecutionContext): KeyringRequest | undefined {
   *     // A message that carries the original delivery's headers and body.
   *     if (context.getType() === 'rpc') return context.switchToRpc().getData<{ delivery: KeyringRequest }>().delivery;
   *     return super.getRequest(context);
   *   }
   * }
   */
  protected getRequest(context: ExecutionContext): KeyringRequest | undefined {
    return context.getType() === 'http' ? context.switchToHttp().getRequest<KeyringRequest>() : undefined;
  }

  /** The name from `@WebhookSecret(name)` on the route or its controller, else `default`. */
  protected getSecretName(context: ExecutionContext): string {
    return (
      this.reflector.getAllAndOverride<string | undefined>(WEBHOOK_SECRET_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? DEFAULT_WEBHOOK_SECRET_NAME
    );
  }

  /** The current time in milliseconds, for signature timestamps. */
  protected now(): number {
    return Date.now();
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }
}

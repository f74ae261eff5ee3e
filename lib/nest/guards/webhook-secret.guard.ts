import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext, type RawBodyRequest } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { KeyringFailure } from '../../core/failure.js';
import type { RequestHeaders } from '../../core/headers.js';
import type { Keyring } from '../../core/keyring.js';
import { createRawBodyWarning } from '../../core/webhook-raw-body.js';
import { asRawBody, asRawHeaders, type WebhookRequest } from '../../core/webhook-request.js';
import { DEFAULT_WEBHOOK_SECRET_NAME, requireWebhookSecret, type ResolvedWebhookSecret } from '../../core/webhook-secrets.js';
import { KEYRING } from '../api-key.constants.js';
import { refuse } from '../refusal.js';

/** Metadata key of `@WebhookSecret(name)`: the name of the secret a route checks. */
export const WEBHOOK_SECRET_METADATA = 'KEYRING:WEBHOOK_SECRET';

/**
 * A request as the webhook guard sees it, on either adapter: Express's is Node's own, with
 * `rawHeaders`; Fastify's keeps Node's in `raw`.
 */
type WebhookHttpRequest = RawBodyRequest<{ headers: RequestHeaders; rawHeaders?: unknown; raw?: { rawHeaders?: unknown } }>;

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
 * Refusals are `ApiKeyException`s in the configured error format; the handler never runs, and
 * no secret appears in a response or a log line. `@Public()` does not skip this guard: it only
 * concerns API keys. Hooks are `protected` so a subclass can change one decision.
 *
 * @example
 * @WebhookSecret()            // applies this guard with the `default` secret
 * @Post('webhooks/connexease')
 * receive(@Body() event: unknown) {}
 */
@Injectable()
export class WebhookSecretGuard implements CanActivate {
  protected readonly logger = new Logger('WebhookSecretGuard');
  private readonly rawBodyWarning = createRawBodyWarning('nest');

  constructor(
    @Inject(KEYRING) protected readonly keyring: Keyring,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    // Only HTTP requests carry what a webhook is checked by; anything else is refused.
    if (context.getType() !== 'http') return false;
    const secret = this.getSecret(context);
    const result = secret.verify(webhookRequest(context.switchToHttp().getRequest<WebhookHttpRequest>()), this.now());
    if (result.ok) return true;
    const warning = this.rawBodyWarning(result);
    if (warning !== undefined) this.logger.warn(warning);
    this.reject(context, result.failure);
  }

  /** The name from `@WebhookSecret(name)` on the route or its controller, else `default`. */
  protected getSecretName(context: ExecutionContext): string {
    return this.reflector.getAllAndOverride<string | undefined>(WEBHOOK_SECRET_METADATA, [context.getHandler(), context.getClass()]) ?? DEFAULT_WEBHOOK_SECRET_NAME;
  }

  /** The current time in milliseconds, for signature timestamps. */
  protected now(): number {
    return Date.now();
  }

  /** Sends the refusal: sets its headers on the response and throws it. */
  protected reject(context: ExecutionContext, failure: KeyringFailure): never {
    refuse(this.keyring, this.adapterHost, this.logger, context, failure);
  }

  private getSecret(context: ExecutionContext): ResolvedWebhookSecret {
    // Start-up already checked every route (WebhookRoutesCheck); this only guards a guard
    // applied in a way no scan can see. A configuration error answers 500, never a grant.
    return requireWebhookSecret(this.keyring.options.webhookSecrets, this.getSecretName(context), routeName(context));
  }
}

/** What a webhook check reads, from either adapter's request. */
function webhookRequest(request: WebhookHttpRequest): WebhookRequest {
  return {
    headers: request.headers,
    rawBody: asRawBody(request.rawBody),
    rawHeaders: asRawHeaders(request.rawHeaders ?? request.raw?.rawHeaders),
  };
}

function routeName(context: ExecutionContext): string {
  return `${context.getClass().name}.${context.getHandler().name}`;
}

import {
  publishWebhookRefused,
  publishWebhookVerified,
  webhookCheckStarted,
  type Responder,
} from '../admission/decision-events.js';
import { KeyringConfigError } from '../refusals/failure.js';
import { rawBodyWarning, type WebhookHost, type WebhookRawBodySource } from './webhook-raw-body.js';
import { readDelivery, type WebhookCheck, type WebhookDelivery } from './webhook-request.js';
import type { ResolvedWebhookSecret, ResolvedWebhookSecrets } from './webhook-secrets.js';

/**
 * The webhooks part of a `Keyring` (`keyring.webhooks`): the senders `webhookSecrets` configures,
 * checked at start-up, and the check of one delivery. `WebhookSecretGuard`, the start-up route
 * check, the OpenAPI document and `webhookSecretMiddleware` only translate what it answers.
 *
 * @example
 * const secret = keyring.webhooks.secret('default', 'POST /webhook'); // throws at start-up if unknown
 * const verdict = keyring.webhooks.check(secret, req); // Node's or Fastify's request
 * if (!verdict.ok) console.log(verdict.failure.reason); // e.g. 'webhook_secret_invalid'
 */
export class KeyringWebhooks {
  /** Every configured sender, by name (empty when `webhookSecrets` is not set). */
  readonly secrets: ResolvedWebhookSecrets;
  private warned = false;

  /**
   * @param rawBody who keeps signed webhooks' raw bodies in a Nest app (`webhookRawBody`)
   * @param host where the once-only warning about an unkept raw body is logged, for the fix it names
   */
  constructor(
    secrets: ResolvedWebhookSecrets | undefined,
    readonly rawBody: WebhookRawBodySource,
    private readonly responder: Responder,
    private readonly host: WebhookHost = 'nest',
  ) {
    this.secrets = secrets ?? new Map();
  }

  /** True when some sender signs its webhooks (Standard Webhooks), which needs raw bodies. */
  get signed(): boolean {
    return [...this.secrets.values()].some((secret) => secret.scheme === 'standard-webhooks');
  }

  /**
   * The sender `name` names, for a route or a middleware about to check it.
   *
   * @param where what names it, for the message (e.g. `WebhooksController.receive`)
   * @throws KeyringConfigError when no secret of that name is configured
   */
  secret(name: string, where: string): ResolvedWebhookSecret {
    const secret = this.secrets.get(name);
    if (secret !== undefined) return secret;
    const known = this.secrets.size > 0 ? `configured: ${[...this.secrets.keys()].join(', ')}` : 'none is configured';
    throw new KeyringConfigError(
      `${where} checks the webhook secret "${name}", but \`webhookSecrets\` has no such name (${known}). ` +
        `Add \`webhookSecrets.${name}\` or name a configured secret.`,
    );
  }

  /**
   * Checks one delivery against `secret` and publishes the outcome on the `nest-keyring:webhook-*`
   * diagnostics channels (reading no clock while nobody subscribes). `warning` is set the first
   * time a signed delivery arrives with a body nobody kept as bytes.
   */
  check(
    secret: ResolvedWebhookSecret,
    request: WebhookDelivery,
    nowMs = Date.now(),
  ): WebhookCheck & { warning?: string } {
    const started = webhookCheckStarted();
    const result = secret.verify(readDelivery(request), nowMs);
    if (result.ok) {
      publishWebhookVerified(started, request, secret);
      return result;
    }
    publishWebhookRefused(started, request, result.failure, this.responder, secret);
    // Said once: a request can only show it, and a sender must not be able to repeat it.
    if (this.warned || result.rawBodyMissing !== true) return result;
    this.warned = true;
    return { ...result, warning: rawBodyWarning(this.host) };
  }
}

import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { KeyringConfigError } from '../../core/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { rawBodyStartupError } from '../../core/webhook-raw-body.js';
import { DEFAULT_WEBHOOK_SECRET_NAME, hasSigningSecret, requireWebhookSecret } from '../../core/webhook-secrets.js';
import { KEYRING, WEBHOOK_SECRET_METADATA } from '../api-key.constants.js';
import { appRoutes, hasGuard, type MetadataTarget } from '../route-declarations.js';
import { rawBodyOption, watchRawBodyOption } from './webhook-raw-body.watch.js';
import { WebhookSecretGuard } from './webhook-secret.guard.js';

/**
 * Fails the app's start-up (`app.init()`, `app.listen()`) when a webhook route cannot work:
 * - it checks a webhook secret that `webhookSecrets` does not configure (`@WebhookSecret('name')`
 *   with an unknown name, or `@UseGuards(WebhookSecretGuard)` with no `default`);
 * - it checks a Standard Webhooks signature and the app was created without `rawBody` (unless
 *   `webhookRawBody: 'app'`), so no raw body would ever be there to check.
 * Without it the mistake would show at the first delivery, as refusals the sender retries.
 */
@Injectable()
export class WebhookRoutesCheck implements OnModuleInit {
  constructor(
    @Inject(KEYRING) private readonly keyring: Keyring,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    // Before app.init(), which hands the app's `rawBody` option to the adapter. Only signed
    // webhooks need it: other apps' adapters are left untouched.
    if (hasSigningSecret(keyring.options.webhookSecrets)) watchRawBodyOption(adapterHost);
  }

  onModuleInit(): void {
    const signedRoutes: string[] = [];
    for (const { controller, handler, name: where } of appRoutes(this.discovery, this.scanner)) {
      const name = webhookSecretNameOf(this.reflector, handler, controller);
      if (name === undefined) continue;
      if (requireWebhookSecret(this.keyring.options.webhookSecrets, name, where).scheme === 'standard-webhooks')
        signedRoutes.push(where);
    }
    const rawBodyError = rawBodyStartupError(
      this.keyring.options.webhookRawBody,
      rawBodyOption(this.adapterHost),
      signedRoutes,
    );
    if (rawBodyError !== undefined) throw new KeyringConfigError(rawBodyError);
  }
}

/**
 * The name of the webhook secret a route checks (its own `@WebhookSecret(name)` winning over its
 * controller's; `default` for a bare `WebhookSecretGuard`), or `undefined` when no webhook guard
 * applies to it.
 */
export function webhookSecretNameOf(
  reflector: Reflector,
  handler: MetadataTarget,
  controller: MetadataTarget,
): string | undefined {
  const named = reflector.getAllAndOverride<string | undefined>(WEBHOOK_SECRET_METADATA, [handler, controller]);
  if (named !== undefined) return named;
  const guards = [
    ...(reflector.get<unknown[]>(GUARDS_METADATA, handler) ?? []),
    ...(reflector.get<unknown[]>(GUARDS_METADATA, controller) ?? []),
  ];
  return hasGuard(guards, WebhookSecretGuard) ? DEFAULT_WEBHOOK_SECRET_NAME : undefined;
}

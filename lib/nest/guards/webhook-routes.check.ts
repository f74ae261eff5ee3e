import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Keyring } from '../../core/keyring.js';
import { DEFAULT_WEBHOOK_SECRET_NAME, requireWebhookSecret } from '../../core/webhook-secrets.js';
import { KEYRING } from '../api-key.constants.js';
import { WEBHOOK_SECRET_METADATA, WebhookSecretGuard } from './webhook-secret.guard.js';

function isWebhookGuard(guard: unknown): boolean {
  if (typeof guard === 'function') return guard === WebhookSecretGuard || guard.prototype instanceof WebhookSecretGuard;
  return guard instanceof WebhookSecretGuard;
}

/**
 * Fails the app's start-up (`app.init()`, `app.listen()`) when a route checks a webhook secret
 * that `webhookSecrets` does not configure: `@WebhookSecret('name')` with an unknown name, or
 * `@UseGuards(WebhookSecretGuard)` with no `default`. Without it the mistake would show at the
 * first delivery, as a 500 the sender retries.
 */
@Injectable()
export class WebhookRoutesCheck implements OnModuleInit {
  constructor(
    @Inject(KEYRING) private readonly keyring: Keyring,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const controller = metatype as Type<unknown>;
      for (const method of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[method] as (...args: unknown[]) => unknown;
        // Only routes are guarded; other methods of a controller are plain helpers.
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const name = this.secretNameOf(handler, controller);
        if (name !== undefined) requireWebhookSecret(this.keyring.options.webhookSecrets, name, `${controller.name}.${method}`);
      }
    }
  }

  /** The secret a route checks, or `undefined` when no webhook guard applies to it. */
  private secretNameOf(handler: (...args: unknown[]) => unknown, controller: Type<unknown>): string | undefined {
    const named = this.reflector.getAllAndOverride<string | undefined>(WEBHOOK_SECRET_METADATA, [handler, controller]);
    if (named !== undefined) return named;
    const guards = [...(this.reflector.get<unknown[]>(GUARDS_METADATA, handler) ?? []), ...(this.reflector.get<unknown[]>(GUARDS_METADATA, controller) ?? [])];
    return guards.some(isWebhookGuard) ? DEFAULT_WEBHOOK_SECRET_NAME : undefined;
  }
}

import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { KeyringConfigError } from '../../core/failure.js';
import { isContradictory } from '../../core/route-access.js';
import { declarationsOf } from '../route-declarations.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { WebhookSecretGuard } from './webhook-secret.guard.js';

/**
 * Fails the app's start-up when a controller, or a route, is declared both `@Public()` and
 * protected by an API key (`@ApiKeyAuth()`, `@UseGuards(ApiKeyGuard)`, `@RequireScopes()`) on
 * the same level: one of the two would be ignored, and nothing says which one the author meant.
 * (Across levels the nearest declaration wins: a route's own auth inside a `@Public()`
 * controller is enforced.)
 */
@Injectable()
export class ApiKeyRoutesCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const guards = { apiKey: ApiKeyGuard, webhook: WebhookSecretGuard };
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const controller = metatype as Type<unknown>;
      if (isContradictory(declarationsOf(this.reflector, controller, guards))) throw contradiction(controller.name);
      for (const method of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[method] as (...args: unknown[]) => unknown;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        if (isContradictory(declarationsOf(this.reflector, handler, guards)))
          throw contradiction(`${controller.name}.${method}`);
      }
    }
  }
}

function contradiction(where: string): KeyringConfigError {
  return new KeyringConfigError(
    `${where} is both @Public() and protected by an API key ` +
      `(@ApiKeyAuth(), @UseGuards(ApiKeyGuard) or @RequireScopes()). ` +
      'Remove one of them. (A route may override its controller: the nearest declaration wins.)',
  );
}

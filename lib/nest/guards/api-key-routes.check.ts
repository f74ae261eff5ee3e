import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { KeyringConfigError } from '../../core/failure.js';
import { isContradictory } from '../../core/route-access.js';
import { appRoutes } from '../route-declarations.js';
import { routeDeclarations } from './api-key.guard.js';

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
    const checked = new Set<Type<unknown>>();
    for (const { controller, handler, name } of appRoutes(this.discovery, this.scanner)) {
      if (!checked.has(controller)) {
        checked.add(controller);
        if (isContradictory(routeDeclarations(this.reflector, controller))) throw contradiction(controller.name);
      }
      if (isContradictory(routeDeclarations(this.reflector, handler))) throw contradiction(name);
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

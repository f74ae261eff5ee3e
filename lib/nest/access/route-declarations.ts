import type { Type } from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { AccessDeclarations } from '../../core/admission/route-access.js';
import {
  PUBLIC_ROUTE_METADATA,
  REQUIRED_SCOPES_METADATA,
  WEBHOOK_SECRET_METADATA,
} from '../module/api-key.constants.js';

/** A route handler or a controller class: where decorators put metadata. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type MetadataTarget = Function;

/** True when `guards` (from `@UseGuards`) holds `guardClass`, a subclass of it, or an instance. */
export function hasGuard(guards: readonly unknown[] | undefined, guardClass: Type<unknown>): boolean {
  return (guards ?? []).some((guard) =>
    typeof guard === 'function'
      ? guard === guardClass || guard.prototype instanceof guardClass
      : guard instanceof guardClass,
  );
}

/**
 * What a route handler, or a controller, declares about its authentication (see
 * `requiresApiKey`). The guard classes are passed in so this file imports neither.
 */
export function declarationsOf(
  reflector: Reflector,
  target: MetadataTarget,
  guards: { apiKey: Type<unknown>; webhook: Type<unknown> },
): AccessDeclarations {
  const applied = reflector.get<unknown[] | undefined>(GUARDS_METADATA, target);
  const declared = (key: string) => reflector.get<unknown>(key, target) !== undefined;
  return {
    public: reflector.get<boolean | undefined>(PUBLIC_ROUTE_METADATA, target) === true,
    apiKey: hasGuard(applied, guards.apiKey) || declared(REQUIRED_SCOPES_METADATA),
    webhook: hasGuard(applied, guards.webhook) || declared(WEBHOOK_SECRET_METADATA),
  };
}

/** A route of the app: its controller, its handler, and `Controller.method` for messages. */
export interface AppRoute {
  controller: Type<unknown>;
  handler: MetadataTarget;
  name: string;
}

/**
 * Every route of the app's controllers, for start-up checks. Methods without a path are plain
 * helpers of their controller, not routes, and are left out.
 */
export function* appRoutes(discovery: DiscoveryService, scanner: MetadataScanner): Generator<AppRoute> {
  for (const { metatype } of discovery.getControllers()) {
    if (typeof metatype !== 'function') continue;
    const controller = metatype as Type<unknown>;
    for (const method of scanner.getAllMethodNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[method] as MetadataTarget;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      yield { controller, handler, name: `${controller.name}.${method}` };
    }
  }
}

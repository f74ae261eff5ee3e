import type { Type } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import type { Reflector } from '@nestjs/core';
import type { AccessDeclarations } from '../core/route-access.js';
import { PUBLIC_ROUTE_METADATA, REQUIRED_SCOPES_METADATA, WEBHOOK_SECRET_METADATA } from './api-key.constants.js';

/** A route handler or a controller class: where decorators put metadata. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type MetadataTarget = Function;

/** True when `guards` (from `@UseGuards`) holds `guardClass`, a subclass of it, or an instance. */
function hasGuard(guards: readonly unknown[] | undefined, guardClass: Type<unknown>): boolean {
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
  return {
    public: reflector.get<boolean | undefined>(PUBLIC_ROUTE_METADATA, target) === true,
    apiKey:
      hasGuard(applied, guards.apiKey) ||
      reflector.get<string[] | undefined>(REQUIRED_SCOPES_METADATA, target) !== undefined,
    webhook:
      hasGuard(applied, guards.webhook) ||
      reflector.get<string | undefined>(WEBHOOK_SECRET_METADATA, target) !== undefined,
  };
}

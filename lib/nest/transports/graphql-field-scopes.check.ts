import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, Reflector } from '@nestjs/core';
import { KeyringConfigError } from '../../core/refusals/failure.js';
import { routeDeclarations } from '../access/api-key.guard.js';
import type { MetadataTarget } from '../access/route-declarations.js';

// What @nestjs/graphql names them (read as strings: nothing of it is imported).
const GRAPHQL_MODULE_OPTIONS = 'GqlModuleOptions';
const RESOLVE_FIELD_METADATA = 'graphql:resolve_property';

/**
 * Fails the app's start-up when a field resolver (`@ResolveField()`) declares API-key auth of its
 * own (`@RequireScopes()`, `@ApiKeyAuth()`) while the GraphQL module runs no guard on field
 * resolvers (`fieldResolverEnhancers` without `'guards'`, Nest's default): the declaration would
 * never be checked, and the field answered to any key the operation's root field admitted.
 */
@Injectable()
export class GraphqlFieldScopesCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    const enhancers = this.fieldResolverEnhancers();
    // No GraphQL in this app, or guards run on field resolvers: nothing can go unchecked.
    if (enhancers === undefined || enhancers.includes('guards')) return;
    for (const { metatype } of this.discovery.getProviders()) {
      const prototype = typeof metatype === 'function' ? (metatype.prototype as object | undefined) : undefined;
      if (prototype === undefined) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[method] as MetadataTarget;
        if (Reflect.getMetadata(RESOLVE_FIELD_METADATA, handler) !== true) continue;
        if (routeDeclarations(this.reflector, handler).apiKey) throw unguardedField(`${metatype!.name}.${method}`);
      }
    }
  }

  private fieldResolverEnhancers(): readonly string[] | undefined {
    let options: { fieldResolverEnhancers?: readonly string[] } | undefined;
    try {
      options = this.moduleRef.get(GRAPHQL_MODULE_OPTIONS, { strict: false });
    } catch {
      return undefined;
    }
    return options?.fieldResolverEnhancers ?? [];
  }
}

function unguardedField(where: string): KeyringConfigError {
  return new KeyringConfigError(
    `${where} is a field resolver with @RequireScopes() or @ApiKeyAuth(), but Nest runs no guard on field ` +
      "resolvers unless GraphQLModule's fieldResolverEnhancers includes 'guards': it would be answered to any key. " +
      "Add fieldResolverEnhancers: ['guards'] to the GraphQL module's options, or declare the scope on the query.",
  );
}

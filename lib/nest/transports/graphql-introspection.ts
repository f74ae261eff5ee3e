import { Injectable } from '@nestjs/common';
import { admitRequest } from '../../core/admission/admit-request.js';
import type { Keyring } from '../../core/keyring.js';
import { fail } from '../../core/result.js';
import { InjectKeyring } from '../module/injection.decorators.js';
import { graphqlRefusalIn, graphqlRequestIn } from './graphql.js';
import { admissionInputOf } from './transport-request.js';

// The few GraphQL document nodes this reads, as graphql-js builds them (no import of graphql).
interface SelectionNode {
  kind: string;
  name?: { value: string };
  selectionSet?: { selections: readonly SelectionNode[] };
}
interface DocumentNode {
  definitions: readonly SelectionNode[];
}

const INTROSPECTION_FIELDS: ReadonlySet<string> = new Set(['__schema', '__type']);

/**
 * True when `document` asks for the schema (`__schema` or `__type`, which only the query root
 * has), in any of its operations or fragments. `__typename` reveals nothing beyond the answer
 * it is part of, and does not count.
 */
export function selectsIntrospection(document: DocumentNode): boolean {
  const visit = (selections: readonly SelectionNode[] | undefined): boolean =>
    (selections ?? []).some(
      (selection) =>
        (selection.kind === 'Field' && INTROSPECTION_FIELDS.has(selection.name?.value ?? '')) ||
        (selection.kind === 'InlineFragment' && visit(selection.selectionSet?.selections)),
    );
  return document.definitions.some((definition) => visit(definition.selectionSet?.selections));
}

/**
 * Requires an API key for introspection, which no resolver (and so no guard) answers: a query
 * for `__schema` or `__type` without a valid key (and tenant, as for any operation) is refused
 * with the format's code, before it runs; every other operation goes on to the resolvers and
 * their guards, untouched. Register it with the GraphQL server:
 *
 * - Apollo (`@nestjs/apollo`): subclass it with `@Plugin()` and add the subclass to a module's
 *   providers; it is an Apollo Server plugin (`requestDidStart`).
 * - Mercurius (`@nestjs/mercurius`): its `preExecution` is a Mercurius hook; inject this class
 *   (`ApiKeyModule` provides it) in `GraphQLModule.forRootAsync` and list it in `hooks.preExecution`.
 *
 * @example
 * @Plugin()
 * export class IntrospectionNeedsKey extends GraphqlIntrospectionCheck {}
 */
@Injectable()
export class GraphqlIntrospectionCheck {
  constructor(@InjectKeyring() protected readonly keyring: Keyring) {}

  /** Apollo Server plugin: checks the key once the operation is known. */
  async requestDidStart(): Promise<{
    didResolveOperation(request: { document: DocumentNode; contextValue: object }): Promise<void>;
  }> {
    return { didResolveOperation: async ({ document, contextValue }) => this.check(document, contextValue) };
  }

  /** Mercurius `preExecution` hook (bound: pass it as it is). */
  readonly preExecution = async (_schema: unknown, document: DocumentNode, context: object): Promise<void> =>
    this.check(document, context);

  /**
   * Refuses an introspection query without a valid key; resolves otherwise.
   *
   * @throws the refusal, shaped for the GraphQL server (see `ApiKeyGuard`)
   */
  async check(document: DocumentNode, gqlContext: object): Promise<void> {
    if (!selectsIntrospection(document)) return;
    const request = graphqlRequestIn(gqlContext);
    // The operation's first unit of work; the resolvers' guards find the admission and ask the
    // key store nothing more, and each further root field counts on from it.
    const result =
      request === undefined ? fail('missing') : await admitRequest(this.keyring, admissionInputOf(request, [], true));
    if (!result.ok) throw graphqlRefusalIn(gqlContext, result.failure, this.keyring.errorResponse(result.failure));
  }
}

import { Plugin } from '@nestjs/apollo';
import { GraphqlIntrospectionCheck } from 'nest-keyring';

/**
 * The schema, like the data, for clients with a key: introspection is answered by Apollo
 * itself, where no guard runs, so this Apollo plugin asks for the key instead.
 */
@Plugin()
export class IntrospectionNeedsKey extends GraphqlIntrospectionCheck {}

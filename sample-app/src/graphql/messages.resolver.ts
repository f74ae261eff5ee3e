import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentApiKey, CurrentTenant, RequireScopes } from 'nest-keyring';
import type { ApiKeyRecord, Tenant } from 'nest-keyring';
import { MessagesService } from '../messages.service.js';
import { MeModel, SentMessageModel } from './graphql.models.js';

/**
 * The REST routes' GraphQL twins, at `/graphql`. No decorator of nest-keyring is needed to
 * protect them: the app-wide guard (`protectAllRoutes`) covers resolvers as it covers routes,
 * reads the same headers, and the resolvers run in the tenant's context.
 */
@Resolver()
export class MessagesResolver {
  constructor(private readonly messages: MessagesService) {}

  @Query(() => MeModel)
  me(@CurrentApiKey() key: ApiKeyRecord, @CurrentTenant() tenant: Tenant): MeModel {
    const name = typeof tenant.name === 'string' ? tenant.name : undefined;
    return {
      keyId: String(key.id),
      environment: key.environment,
      tenant: { id: Number(tenant.id), name },
      scopes: key.scopes ?? [],
    };
  }

  @RequireScopes('messages:send')
  @Mutation(() => SentMessageModel)
  sendMessage(
    @Args('phone', { type: () => String }) phone: string,
    @Args('body', { type: () => String }) body: string,
    @Args('messageType', { type: () => String, defaultValue: 'text' }) messageType: string,
    @CurrentApiKey('id') keyId: string,
  ): SentMessageModel {
    // The service reads the tenant from TenantContext, as it does for the REST route.
    const message = this.messages.send(keyId, phone, messageType, body);
    return { messageId: message.message_id, tenantId: String(message.tenant_id), status: 'queued' };
  }
}

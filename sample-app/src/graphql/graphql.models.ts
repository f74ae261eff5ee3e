import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

/** A tenant, as `GET /api/v1/me` answers it: its id and name. */
@ObjectType('Tenant')
export class TenantModel {
  @Field(() => Int)
  id!: number;

  @Field(() => String, { nullable: true })
  name?: string;
}

/** The key a GraphQL operation authenticated with, and the tenant it acts for. */
@ObjectType('Me')
export class MeModel {
  /** The key's id, as `npm run keys -- list` prints it (never the key). */
  @Field(() => ID)
  keyId!: string;

  @Field(() => String, { nullable: true })
  environment?: string;

  /** The tenant it acts for: `X-TENANT-ID`, or the key's first tenant. */
  @Field(() => TenantModel)
  tenant!: TenantModel;

  @Field(() => [String])
  scopes!: string[];
}

/** A message queued by `sendMessage`. */
@ObjectType('SentMessage')
export class SentMessageModel {
  @Field(() => ID)
  messageId!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String)
  status!: string;
}

import { Field, ID, ObjectType } from '@nestjs/graphql';

/** The key a GraphQL operation authenticated with, and the tenant it acts for. */
@ObjectType('Me')
export class MeModel {
  /** The key's id, as `npm run keys -- list` prints it (never the key). */
  @Field(() => ID)
  keyId!: string;

  @Field(() => String, { nullable: true })
  environment?: string;

  /** The tenant's id: `X-TENANT-ID`, or the key's first tenant. */
  @Field(() => ID)
  tenant!: string;

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

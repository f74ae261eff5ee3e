import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { TenantContext } from 'nest-keyring';

export interface StoredMessage {
  message_id: string;
  tenant_id: string | number;
  phone: string;
  message_type: string;
  body: string;
}

/**
 * Stores messages under the tenant of the current request. It reads the tenant from
 * `TenantContext`, not from the request: services stay free of HTTP.
 */
@Injectable()
export class MessagesService {
  private readonly messages: StoredMessage[] = [];

  constructor(private readonly tenants: TenantContext) {}

  send(phone: string, messageType: string, body: string): StoredMessage {
    const message = { message_id: randomUUID(), tenant_id: this.tenants.tenantId, phone, message_type: messageType, body };
    this.messages.push(message);
    return message;
  }

  /** The current tenant's messages only. */
  list(): StoredMessage[] {
    const tenantId = this.tenants.tenantId;
    return this.messages.filter((message) => message.tenant_id === tenantId);
  }
}

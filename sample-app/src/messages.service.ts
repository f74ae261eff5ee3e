import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TenantContext } from 'nest-keyring';
import { Subject, type Observable } from 'rxjs';
import type { SampleDatabase } from './store/database.js';
import { DATABASE } from './store/store.module.js';

export interface StoredMessage {
  message_id: string;
  tenant_id: number;
  key_id: string;
  phone: string;
  message_type: string;
  body: string;
  created_at: string;
}

/**
 * Stores messages under the tenant of the current request. It reads the tenant from
 * `TenantContext`, not from the request: services stay free of HTTP.
 */
@Injectable()
export class MessagesService {
  private readonly sent = new Subject<StoredMessage>();
  /** Every message stored, as it is stored (the realtime gateway pushes them to their tenant). */
  readonly sent$: Observable<StoredMessage> = this.sent.asObservable();

  constructor(
    @Inject(DATABASE) private readonly db: SampleDatabase,
    private readonly tenants: TenantContext,
  ) {}

  send(keyId: string, phone: string, messageType: string, body: string): StoredMessage {
    const message: StoredMessage = {
      message_id: randomUUID(),
      tenant_id: Number(this.tenants.tenantId),
      key_id: keyId,
      phone,
      message_type: messageType,
      body,
      created_at: new Date().toISOString(),
    };
    this.db
      .prepare(
        'INSERT INTO messages (id, tenant_id, key_id, phone, message_type, body, created_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(message.message_id, message.tenant_id, keyId, phone, messageType, body, message.created_at);
    this.sent.next(message);
    return message;
  }

  /** The current tenant's messages only. */
  list(): StoredMessage[] {
    return this.db
      .prepare(
        'SELECT id AS message_id, tenant_id, key_id, phone, message_type, body, created_at ' +
          'FROM messages WHERE tenant_id = ? ORDER BY created_at',
      )
      .all(Number(this.tenants.tenantId)) as StoredMessage[];
  }
}

import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { CurrentApiKey, RequireScopes, TenantContext, type ApiKeyRecord, type Tenant } from 'nest-keyring';
import type { Subscription } from 'rxjs';
import type { Server, Socket } from 'socket.io';
import { MessagesService } from '../messages.service.js';

/** The room of one tenant's subscribers: a message is pushed to its own tenant's room only. */
export const tenantRoom = (tenantId: Tenant['id']) => `tenant:${tenantId}`;

/**
 * Pushes each message sent (over REST or any other way that goes through `MessagesService`) to
 * the sockets of its tenant that subscribed. socket.io on the app's own port and default path
 * (`/socket.io`); `KeyringIoAdapter` checks each connection's key and tenant in its handshake, so
 * a socket acts for one tenant for its whole life.
 *
 * Client: `io(url, { auth: { token: key, tenant: '456' } })`, then
 * `await socket.emitWithAck('subscribe')` and `socket.on('message', …)`.
 */
@WebSocketGateway()
export class MessagesGateway implements OnModuleInit, OnModuleDestroy {
  @WebSocketServer() private readonly server!: Server;
  private subscription: Subscription | undefined;

  constructor(
    private readonly messages: MessagesService,
    private readonly tenants: TenantContext,
  ) {}

  onModuleInit(): void {
    this.subscription = this.messages.sent$.subscribe((message) =>
      this.server.to(tenantRoom(message.tenant_id)).emit('message', message),
    );
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Starts pushing the connection's tenant's new messages to it; the key needs `messages:read`. */
  @RequireScopes('messages:read')
  @SubscribeMessage('subscribe')
  async subscribe(client: Socket) {
    // The handler runs as the connection's tenant, as a REST handler runs as the request's.
    const tenantId = this.tenants.tenantId;
    await client.join(tenantRoom(tenantId));
    return { success: true, data: { subscribed: tenantRoom(tenantId) } };
  }

  /** The connection's key and tenant. */
  @SubscribeMessage('me')
  me(@CurrentApiKey() key: ApiKeyRecord) {
    return { success: true, data: { key_id: key.id, environment: key.environment, tenant: this.tenants.tenant } };
  }
}

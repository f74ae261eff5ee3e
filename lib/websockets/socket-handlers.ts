import type { MessageMappingProperties } from '@nestjs/websockets';
import { runAsSocket } from '../nest/transports/websocket.js';

/**
 * A gateway's message handlers, each of which runs as the connection's tenant (`runAsSocket`):
 * a scope of its own for every message, whatever the transport.
 */
export function handlersAsSocket(client: object, handlers: MessageMappingProperties[]): MessageMappingProperties[] {
  return handlers.map((handler) => ({
    ...handler,
    callback: (...args: unknown[]) => runAsSocket(client, () => handler.callback(...args)),
  }));
}

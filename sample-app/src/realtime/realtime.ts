import type { DynamicModule } from '@nestjs/common';
import { MessagesGateway } from './messages.gateway.js';

/**
 * The app with its realtime gateway. Kept out of `AppModule` itself, so that the app's HTTP
 * tests (which also run on Nest versions without `@nestjs/websockets` installed) load none of it;
 * `main.ts` serves it with `KeyringIoAdapter`.
 */
export function withRealtime(app: DynamicModule): DynamicModule {
  return { ...app, providers: [...(app.providers ?? []), MessagesGateway] };
}

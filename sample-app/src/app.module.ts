import { Module } from '@nestjs/common';
import { ApiKeyModule } from 'nest-keyring';
import { DemoKeyStore } from './demo-key-store.js';
import { DemoKeysModule } from './demo-keys.module.js';
import { HealthController } from './health.controller.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [
    // forRootAsync (rather than forRoot({ lookup: DemoKeyStore })) so that the lookup is the
    // DemoKeysModule's instance, the same one main.ts reads the demo keys from.
    ApiKeyModule.forRootAsync({
      imports: [DemoKeysModule],
      inject: [DemoKeyStore],
      useFactory: (store: DemoKeyStore) => ({ lookup: store }),
      // Key and tenant on every route (guard + tenant interceptor); @Public() opts out.
      global: true,
    }),
  ],
  controllers: [HealthController, MessagesController],
  providers: [MessagesService],
})
export class AppModule {}

import { Module } from '@nestjs/common';
import { DemoKeyStore } from './demo-key-store.js';

/**
 * Provides the one `DemoKeyStore` instance: `ApiKeyModule` reads keys from it and `main.ts`
 * takes the demo keys from it with `app.get(DemoKeyStore)`.
 */
@Module({
  providers: [DemoKeyStore],
  exports: [DemoKeyStore],
})
export class DemoKeysModule {}

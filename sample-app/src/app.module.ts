import { Module, type DynamicModule } from '@nestjs/common';
import { ApiKeyModule } from 'nest-keyring';
import { HealthController } from './health.controller.js';
import { KEY_CACHE_TTL_MS } from './key-cache.js';
import { KeysController } from './keys.controller.js';
import { KeysRollController } from './keys-roll.controller.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';
import { MetricsModule } from './metrics/metrics.module.js';
import type { OpenDatabaseOptions } from './store/database.js';
import { SqliteKeyStore } from './store/sqlite-key-store.js';
import { SIGNING_SECRET, StoreModule } from './store/store.module.js';
import { SqliteUsageStore } from './store/usage.js';
import { WebhooksController } from './webhooks.controller.js';
import { fleetOptions } from './fleet.js';

@Module({})
export class AppModule {
  /**
   * The app on the SQLite file at `path` (created with the demo tenants on first use, readable
   * by its owner only), accepting gateway webhooks signed with `webhookSecret` (at least 32
   * random characters).
   */
  static forDatabase(path: string, webhookSecret: string, options: OpenDatabaseOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        StoreModule.forDatabase(path, options),
        ApiKeyModule.forRootAsync({
          inject: [SqliteKeyStore, SqliteUsageStore, SIGNING_SECRET],
          useFactory: async (store: SqliteKeyStore, usage: SqliteUsageStore, signingSecret: string) => ({
            lookup: store,
            // Keys are signed (KEYRING_SIGNING_SECRET, or the secret kept beside the database): a
            // made-up key is refused before the cache and the database are asked.
            signingSecrets: [signingSecret],
            // last_used_at written behind, once a minute and on shutdown (npm run keys -- list shows it).
            usage: { onUsed: (batch) => usage.onUsed(batch) },
            cache: { ttlMs: KEY_CACHE_TTL_MS },
            webhookSecrets: { default: webhookSecret },
            // With REDIS_URL: revocations and rate limits shared by every instance (see fleet.ts).
            ...(await fleetOptions()),
          }),
          // Key and tenant on every route (the guard; the module opens the tenant context); @Public() opts out.
          protectAllRoutes: true,
        }),
        MetricsModule,
      ],
      controllers: [HealthController, MessagesController, KeysController, KeysRollController, WebhooksController],
      providers: [MessagesService],
    };
  }
}

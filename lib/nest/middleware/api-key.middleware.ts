import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { Keyring } from '../../core/keyring.js';
import { apiKeyMiddleware } from '../../express/api-key.middleware.js';
import type { KeyringMiddleware } from '../../express/http-types.js';
import { KEYRING } from '../api-key.constants.js';

/**
 * `apiKeyMiddleware` configured from `ApiKeyModule`'s options, for `MiddlewareConsumer`: the
 * Nest class, where `apiKeyMiddleware` is the function for plain Express.
 *
 * @example
 * export class AppModule implements NestModule {
 *   configure(consumer: MiddlewareConsumer) {
 *     consumer.apply(ApiKeyNestMiddleware, TenantNestMiddleware).forRoutes(MessagesController);
 *   }
 * }
 */
@Injectable()
export class ApiKeyNestMiddleware implements NestMiddleware {
  readonly use: KeyringMiddleware;

  constructor(@Inject(KEYRING) keyring: Keyring) {
    this.use = apiKeyMiddleware(keyring, { logger: new Logger('ApiKeyNestMiddleware') });
  }
}

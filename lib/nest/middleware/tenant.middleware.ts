import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { Keyring } from '../../core/keyring.js';
import type { KeyringMiddleware } from '../../express/http-types.js';
import { tenantMiddleware } from '../../express/tenant.middleware.js';
import { KEYRING } from '../api-key.constants.js';

/** `tenantMiddleware` configured from `ApiKeyModule`'s options, for `MiddlewareConsumer`. */
@Injectable()
export class TenantNestMiddleware implements NestMiddleware {
  readonly use: KeyringMiddleware;

  constructor(@Inject(KEYRING) keyring: Keyring) {
    this.use = tenantMiddleware(keyring, { logger: new Logger('TenantNestMiddleware') });
  }
}

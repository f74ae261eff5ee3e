import { Controller, Delete, HttpCode, NotFoundException, Param } from '@nestjs/common';
import { ApiKeyCache, RequireScopes } from 'nest-keyring';
import { KeyAdmin } from './store/key-admin.js';

/** Key administration over HTTP: revocation here takes effect in this process at once. */
@Controller('api/v1/keys')
export class KeysController {
  constructor(
    private readonly admin: KeyAdmin,
    private readonly cache: ApiKeyCache,
  ) {}

  @RequireScopes('keys:admin')
  @Delete(':id')
  @HttpCode(200)
  revoke(@Param('id') id: string) {
    if (!this.admin.revoke(id)) {
      throw new NotFoundException({ success: false, error: { code: 'KEY_NOT_FOUND', message: 'No active key with this id.' } });
    }
    // The store says revoked; the cache must forget the record so the next request sees it.
    this.cache.invalidateRecord(id);
    return { success: true, data: { id, revoked: true } };
  }
}

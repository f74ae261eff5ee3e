import { Controller, Delete, HttpCode, NotFoundException, Param } from '@nestjs/common';
import { ApiKeyCache, CurrentApiKey, RequireScopes } from 'nest-keyring';
import { KeyAdmin } from './store/key-admin.js';

/**
 * Key administration over HTTP: revocation here takes effect in this process at once. A caller
 * revokes only keys of its own environment whose tenants and scopes are all among its own; any other key
 * id is answered 404 exactly like an id that does not exist, so callers cannot probe for other
 * tenants' keys. (`npm run keys -- revoke` on the machine itself is not bound to a tenant.)
 */
@Controller('api/v1/keys')
export class KeysController {
  constructor(
    private readonly admin: KeyAdmin,
    private readonly cache: ApiKeyCache,
  ) {}

  @RequireScopes('keys:admin')
  @Delete(':id')
  @HttpCode(200)
  revoke(@Param('id') id: string, @CurrentApiKey('id') callerId: string) {
    if (!this.admin.revokeAs(String(callerId), id)) {
      throw new NotFoundException({
        success: false,
        error: { code: 'KEY_NOT_FOUND', message: 'No active key with this id.' },
      });
    }
    // The store says revoked; the cache must forget the record so the next request sees it.
    this.cache.invalidateRecord(id);
    return { success: true, data: { id, revoked: true } };
  }
}

import { randomUUID } from 'node:crypto';
import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentApiKey, RequireScopes } from 'nest-keyring';
import type { ApiKeyRecord } from 'nest-keyring';

/**
 * Routes in the style of the CubeConnect API (`/api/v1`). Every route here needs a key: the
 * guard is registered for the whole app by `ApiKeyModule.forRootAsync({ global: true })`.
 */
@Controller('api/v1')
export class MessagesController {
  @RequireScopes('messages:send')
  @Post('messages/send')
  @HttpCode(200)
  send(@CurrentApiKey() key: ApiKeyRecord) {
    // A real handler would queue the message; the sample only answers as if it had.
    return {
      success: true,
      data: { message_id: randomUUID(), key_id: key.id, environment: key.environment },
    };
  }

  @Get('me')
  me(@CurrentApiKey() key: ApiKeyRecord) {
    return {
      success: true,
      data: { key_id: key.id, environment: key.environment, scopes: key.scopes ?? [] },
    };
  }
}

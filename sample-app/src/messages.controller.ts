import { BadRequestException, Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentApiKey, CurrentTenant, RequireScopes } from 'nest-keyring';
import type { ApiKeyRecord, Tenant } from 'nest-keyring';
import { MessagesService } from './messages.service.js';

interface SendMessageBody {
  phone?: unknown;
  message_type?: unknown;
  data?: { body?: unknown };
}

/**
 * Routes in the style of the CubeConnect API (`/api/v1`). Every route here needs a key and acts
 * for one tenant (`X-TENANT-ID`, or the key's first): `ApiKeyModule.forRootAsync({ protectAllRoutes: true })`
 * applies the guard to the whole app, and the handlers run in the tenant context.
 */
@Controller('api/v1')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @RequireScopes('messages:send')
  @Post('messages/send')
  @HttpCode(200)
  send(@Body() body: SendMessageBody, @CurrentApiKey('id') keyId: string) {
    const { phone, message_type: messageType = 'text', data } = body ?? {};
    if (typeof phone !== 'string' || typeof messageType !== 'string' || typeof data?.body !== 'string') {
      throw new BadRequestException({
        success: false,
        error: { code: 'VALIDATION_ERROR', message: 'phone, message_type and data.body are required.' },
      });
    }
    const message = this.messages.send(keyId, phone, messageType, data.body);
    return { success: true, data: { message_id: message.message_id, tenant_id: message.tenant_id, status: 'queued' } };
  }

  @RequireScopes('messages:read')
  @Get('messages')
  list() {
    return { success: true, data: this.messages.list() };
  }

  @Get('me')
  me(@CurrentApiKey() key: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    return {
      success: true,
      data: { key_id: key.id, environment: key.environment, scopes: key.scopes ?? [], tenant },
    };
  }
}

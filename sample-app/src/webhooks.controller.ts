import { Body, Controller, Inject, Logger, Post } from '@nestjs/common';
import { Public, WebhookAck, WebhookSecret } from 'nest-keyring';
import type { SampleDatabase } from './store/database.js';
import { DATABASE } from './store/store.module.js';

/**
 * The receiver the Connexease Gateway calls: `Authorization: Bearer <webhook secret>`, checked
 * before the payload is touched; 200 at once (the sender retries after 5 s); the event is
 * stored after the answer has gone.
 */
@Public() // no API key here: the webhook secret is the credential
@Controller('webhooks')
export class WebhooksController {
  private readonly logger = new Logger('Webhooks');

  constructor(@Inject(DATABASE) private readonly db: SampleDatabase) {}

  @WebhookSecret()
  @WebhookAck()
  @Post('gateway')
  receive(@Body() event: unknown) {
    this.db
      .prepare('INSERT INTO webhook_events (payload, received_at) VALUES (?, ?)')
      .run(JSON.stringify(event ?? null), new Date().toISOString());
    this.logger.log('stored a gateway event');
  }
}

import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createKeyringDocument } from 'nest-keyring/swagger';

/** Where Swagger UI is served; the document is at `${DOCS_PATH}-json`. */
export const DOCS_PATH = 'docs';

/**
 * Serves the API reference on the app's port: Swagger UI at `/docs`, the OpenAPI document at
 * `/docs-json`. Both are open (they are not routes of the app's controllers, so the guard does
 * not run for them). The document shows which operations need a key, the scopes they require,
 * the `X-TENANT-ID` header and the refusals; "Authorize" in the UI takes a key.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('nest-keyring sample app')
    .setDescription(
      'Messages API in the CubeConnect style. Send a key as `Authorization: Bearer <key>` or in `X-API-KEY`; ' +
        '`X-TENANT-ID` picks one of the tenants the key is linked to.',
    )
    .setVersion('1.0');
  const document = createKeyringDocument(app, config);
  // The controller types its body with an interface, which leaves no trace at run time.
  const send = document.paths['/api/v1/messages/send']?.post;
  if (send !== undefined) send.requestBody = SEND_MESSAGE_BODY;
  SwaggerModule.setup(DOCS_PATH, app, document);
}

const SEND_MESSAGE_BODY = {
  required: true,
  content: {
    'application/json': {
      schema: {
        type: 'object' as const,
        required: ['phone', 'data'],
        properties: {
          phone: { type: 'string' as const, example: '+966501234567' },
          message_type: { type: 'string' as const, default: 'text' },
          data: {
            type: 'object' as const,
            required: ['body'],
            properties: { body: { type: 'string' as const, example: 'Hello from nest-keyring!' } },
          },
        },
      },
    },
  },
};

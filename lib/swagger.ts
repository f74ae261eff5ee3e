/**
 * `nest-keyring/swagger`: the app's OpenAPI document (`@nestjs/swagger`) with what nest-keyring
 * checks written into it: security schemes, each operation's requirement, scopes, the tenant
 * header and the refusals. Only apps that import this entry load `@nestjs/swagger`.
 *
 * @example
 * import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
 * import { createKeyringDocument } from 'nest-keyring/swagger';
 *
 * const document = createKeyringDocument(app, new DocumentBuilder().setTitle('Messages API'));
 * SwaggerModule.setup('docs', app, document);
 */
export { createKeyringDocument, type KeyringDocumentOptions } from './swagger/keyring-document.js';
export { ERROR_SCHEMA as KEYRING_ERROR_SCHEMA } from './swagger/refusal-responses.js';
export { API_KEY_SCHEME, BEARER_SCHEME, WEBHOOK_SECRET_SCHEME } from './swagger/security-schemes.js';

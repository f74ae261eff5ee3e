import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { DemoKeyStore } from './demo-key-store.js';

const port = process.env.PORT ?? 3000;
const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
await app.listen(port);

// Printing keys is for this demo only; nest-keyring itself never logs a key.
const { production, staging } = app.get(DemoKeyStore).takeIssuedKeys();
const base = `http://localhost:${port}`;
const sendBody = `'{"phone":"+966501234567","message_type":"text","data":{"body":"Hello from nest-keyring!"}}'`;

console.log(`
nest-keyring sample app on ${base}

Demo keys, new on every start (the store keeps only their SHA-256 hashes):
  production  ${production.key}  scopes: ${production.record.scopes?.join(', ')}
  staging     ${staging.key}  scopes: ${staging.record.scopes?.join(', ')}

Try:
# 200: send a message as the key's first tenant (123), key in Authorization: Bearer
curl -i -X POST ${base}/api/v1/messages/send -H "Authorization: Bearer ${production.key}" -H "Content-Type: application/json" -d ${sendBody}
# 200: send as the second tenant the key is linked to
curl -i -X POST ${base}/api/v1/messages/send -H "Authorization: Bearer ${production.key}" -H "X-TENANT-ID: 456" -H "Content-Type: application/json" -d ${sendBody}
# 200: tenant 456's messages only
curl -i ${base}/api/v1/messages -H "Authorization: Bearer ${production.key}" -H "X-TENANT-ID: 456"
# 403 TENANT_NOT_FOUND: a tenant this key is not linked to
curl -i ${base}/api/v1/me -H "Authorization: Bearer ${production.key}" -H "X-TENANT-ID: 999"
# 200: the key's id, environment, scopes and tenant, key in X-API-KEY
curl -i ${base}/api/v1/me -H "X-API-KEY: ${staging.key}"
# 401 AUTHENTICATION_REQUIRED: no key
curl -i -X POST ${base}/api/v1/messages/send -H "Content-Type: application/json" -d ${sendBody}
# 403 INSUFFICIENT_SCOPE: the staging key lacks messages:send
curl -i -X POST ${base}/api/v1/messages/send -H "X-API-KEY: ${staging.key}" -H "Content-Type: application/json" -d ${sendBody}
# 200 without a key: a @Public() route
curl -i ${base}/health
`);

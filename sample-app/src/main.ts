import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { KeyringIoAdapter } from 'nest-keyring/socket.io';
import { AppModule } from './app.module.js';
import { KEY_CACHE_TTL_MS } from './key-cache.js';
import { DATABASE_OPTIONS, DATABASE_PATH } from './database-path.js';
import { createDemoKeys } from './demo-keys.js';
import { fleetSummary } from './fleet.js';
import { DOCS_PATH, setupOpenApi } from './openapi.js';
import { graphqlExamples, withGraphql } from './graphql/with-graphql.js';
import { withRealtime } from './realtime/realtime.js';
import { KeyAdmin } from './store/key-admin.js';
import { signingSecretPath } from './store/signing-secret.js';

const port = process.env.PORT ?? 3000;
const database = DATABASE_PATH;
// The secret the gateway sends back to us; a random one per run unless WEBHOOK_SECRET is set.
const webhookSecret = process.env.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url');
const app = await NestFactory.create(
  withRealtime(withGraphql(AppModule.forDatabase(database, webhookSecret, DATABASE_OPTIONS))),
  {
    rawBody: true,
  },
);
// WebSocket connections (socket.io, /socket.io on this port): key and tenant checked in the handshake.
app.useWebSocketAdapter(new KeyringIoAdapter(app));
app.enableShutdownHooks();
setupOpenApi(app);
await app.listen(port);

// Printing keys is for this demo only; nest-keyring itself never logs a key.
const { production, staging } = createDemoKeys(app.get(KeyAdmin), port);
const base = `http://localhost:${port}`;
const sendBody = `'{"phone":"+966501234567","message_type":"text","data":{"body":"Hello from nest-keyring!"}}'`;
const send = `curl -i -X POST ${base}/api/v1/messages/send`;
const bearer = (key: string) => `-H "Authorization: Bearer ${key}"`;
const json = '-H "Content-Type: application/json"';
const gateway = `curl -i -X POST ${base}/webhooks/gateway`;
const keyLine = ({ key, row }: typeof production) =>
  `${key}  ${row.id}  tenants ${row.tenant_ids.join(', ')}  scopes ${row.scopes.join(', ')}`;
const secretFrom = process.env.WEBHOOK_SECRET ? ' (WEBHOOK_SECRET)' : '';
const signedWith = process.env.KEYRING_SIGNING_SECRET ? 'KEYRING_SIGNING_SECRET' : signingSecretPath(database);

console.log(`
nest-keyring sample app on ${base}, keys in ${database} (only their hashes)
Keys signed with the secret in ${signedWith}: made-up keys are refused without asking the database
${fleetSummary()}

Demo keys, created on this start (the previous start's are revoked):
  production  ${keyLine(production)}
  staging     ${keyLine(staging)}

API reference (Swagger UI; "Authorize" takes a key): ${base}/${DOCS_PATH}, the document at ${base}/${DOCS_PATH}-json

Try:
# 200: send a message as the key's first tenant (123), key in Authorization: Bearer
${send} ${bearer(production.key)} ${json} -d ${sendBody}
# 200: send as the second tenant the key is linked to
${send} ${bearer(production.key)} -H "X-TENANT-ID: 456" ${json} -d ${sendBody}
# 200: tenant 456's messages only
curl -i ${base}/api/v1/messages -H "Authorization: Bearer ${production.key}" -H "X-TENANT-ID: 456"
# 403 TENANT_NOT_FOUND: a tenant this key is not linked to
curl -i ${base}/api/v1/me -H "Authorization: Bearer ${production.key}" -H "X-TENANT-ID: 999"
# 200: the key's id, environment, scopes and tenant, key in X-API-KEY
curl -i ${base}/api/v1/me -H "X-API-KEY: ${staging.key}"
# 401 AUTHENTICATION_REQUIRED: no key
curl -i -X POST ${base}/api/v1/messages/send -H "Content-Type: application/json" -d ${sendBody}
# 403 INSUFFICIENT_SCOPE: the staging key lacks messages:send
${send} -H "X-API-KEY: ${staging.key}" ${json} -d ${sendBody}
# 200: roll the production key (itself a keys:admin key): the new key in the body; this one works 1 h more
curl -i -X POST ${base}/api/v1/keys/${production.row.id}/roll ${bearer(production.key)} ${json} -d '{"overlap":"1h"}'
# 404 KEY_NOT_FOUND: a keys:admin key revokes only keys of its own environment whose tenants and scopes are all its own
curl -i -X DELETE ${base}/api/v1/keys/${staging.row.id} -H "Authorization: Bearer ${production.key}"
# WebSocket, socket.io on ${base}/socket.io: the socket's tenant's new messages, pushed (key in auth.token or a header)
#   const socket = io('${base}', { auth: { token: '${production.key}', tenant: '456' } });
#   await socket.emitWithAck('subscribe'); socket.on('message', console.log);
# 200 without a key: a @Public() route
curl -i ${base}/health
# 200 without a key: Prometheus metrics, counts of the app's decisions (never key material)
curl ${base}/metrics
# 200 at once, event stored after the answer: a gateway webhook with this run's secret${secretFrom}
${gateway} ${bearer(webhookSecret)} ${json} -d '{"event":"message.delivered","id":"wamid.1"}'
# 401 INVALID_WEBHOOK_SECRET: a wrong secret
${gateway} ${bearer('x'.repeat(32))} ${json} -d '{}'

Keys: npm run keys -- list | create --env staging --tenants 789 --scopes messages:read [--rate-limit 5/1s]
      | revoke <id> | roll <id> --overlap 24h  (list shows when each key was last used: written once
      a minute and on SIGTERM)
(revoked there: this app refuses the key within ${KEY_CACHE_TTL_MS / 1000} s, its cache TTL;
 revoked with DELETE ${base}/api/v1/keys/<id> and a keys:admin key of the same environment that
 holds all of its tenants and scopes: at once)
`);
console.log(graphqlExamples(base, production.key, staging.key));

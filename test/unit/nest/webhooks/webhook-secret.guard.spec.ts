import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Post, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { fakeAdapterHost, fakeResponse, httpContext, otherContext } from '../../../fixtures/execution-context.js';
import { InMemoryLookup } from '../../../fixtures/in-memory-lookup.js';
import { WEBHOOK_SECRETS } from '../../../fixtures/webhook-secrets.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { KeyringException as ApiKeyException } from '../../../../lib/nest/refusals/keyring.exception.js';
import { WebhookSecret } from '../../../../lib/nest/access/access.decorators.js';
import type { KeyringRequest } from '../../../../lib/nest/access/keyring-request.interface.js';
import { WebhookSecretGuard } from '../../../../lib/nest/webhooks/webhook-secret.guard.js';

@Controller('webhooks')
class WebhooksController {
  @WebhookSecret()
  @Post('connexease')
  connexease() {}

  @WebhookSecret('billing')
  @Post('billing')
  billing() {}
}

const keyring = new Keyring({
  lookup: new InMemoryLookup(),
  webhookSecrets: {
    default: WEBHOOK_SECRETS.connexease,
    billing: [WEBHOOK_SECRETS.billingOld, WEBHOOK_SECRETS.billingNew],
  },
});
const bearer = (secret: string): KeyringRequest => ({ headers: { authorization: `Bearer ${secret}` } });

function refusal(decide: () => unknown): ApiKeyException {
  try {
    decide();
  } catch (error) {
    if (error instanceof ApiKeyException) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('WebhookSecretGuard', () => {
  const guard = new WebhookSecretGuard(keyring, new Reflector(), fakeAdapterHost());

  it('checks the secret the route names, and refuses another with its challenge', () => {
    expect(guard.canActivate(httpContext(WebhooksController, 'connexease', bearer(WEBHOOK_SECRETS.connexease)))).toBe(
      true,
    );
    expect(guard.canActivate(httpContext(WebhooksController, 'billing', bearer(WEBHOOK_SECRETS.billingNew)))).toBe(
      true,
    );
    const response = fakeResponse();
    const refused = refusal(() =>
      guard.canActivate(httpContext(WebhooksController, 'billing', bearer(WEBHOOK_SECRETS.connexease), response)),
    );
    expect({ status: refused.getStatus(), reason: refused.reason }).toEqual({
      status: 401,
      reason: 'webhook_secret_invalid',
    });
    expect(response.headers['WWW-Authenticate']).toMatch(/^Bearer realm=/);
  });

  it('refuses a context that carries no HTTP request', () => {
    expect(
      guard.canActivate(otherContext('rpc', WebhooksController, 'connexease', [bearer(WEBHOOK_SECRETS.connexease)])),
    ).toBe(false);
  });

  it('reads the request only through getRequest, so a subclass can serve another transport', () => {
    class QueuedWebhookGuard extends WebhookSecretGuard {
      protected override getRequest(context: ExecutionContext): KeyringRequest | undefined {
        return context.getType() === 'rpc'
          ? context.switchToRpc().getData<{ delivery: KeyringRequest }>().delivery
          : super.getRequest(context);
      }
    }
    const queued = new QueuedWebhookGuard(keyring, new Reflector(), fakeAdapterHost());
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read outside getRequest');
        },
      },
    );
    const delivered = (secret: string) =>
      otherContext('rpc', WebhooksController, 'connexease', [{ delivery: bearer(secret) }, untouchable]);
    expect(queued.canActivate(delivered(WEBHOOK_SECRETS.connexease))).toBe(true);
    expect(refusal(() => queued.canActivate(delivered(WEBHOOK_SECRETS.stranger))).reason).toBe(
      'webhook_secret_invalid',
    );
  });
});

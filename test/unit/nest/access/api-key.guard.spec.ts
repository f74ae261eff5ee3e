import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { fakeAdapterHost, fakeResponse, httpContext, otherContext } from '../../../fixtures/execution-context.js';
import { KEYS, InMemoryLookup } from '../../../fixtures/in-memory-lookup.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { KeyringException as ApiKeyException } from '../../../../lib/nest/refusals/keyring.exception.js';
import { Public, RequireScopes } from '../../../../lib/nest/access/access.decorators.js';
import type { KeyringRequest } from '../../../../lib/nest/access/keyring-request.interface.js';
import { ApiKeyGuard } from '../../../../lib/nest/access/api-key.guard.js';

class MessagesRoutes {
  @Get()
  list() {}

  @RequireScopes('messages:admin')
  @Get('purge')
  purge() {}
}

// One handler function, two controllers: the policy belongs to the pair.
@Public()
@Controller('open')
class OpenController extends MessagesRoutes {}

@Controller('closed')
class ClosedController extends MessagesRoutes {}

/** A Reflector that counts its reads, to see the per-route policy computed once. */
class CountingReflector extends Reflector {
  reads = 0;
  override get<T = unknown>(...args: Parameters<Reflector['get']>): T {
    this.reads++;
    return super.get(...args) as T;
  }
}

function setup(reflector: Reflector = new Reflector()) {
  const lookup = new InMemoryLookup();
  const keyring = new Keyring({ lookup, tenancy: false });
  return { lookup, keyring, guard: new ApiKeyGuard(keyring, reflector, fakeAdapterHost()) };
}

const keyed = (key: string = KEYS.production): KeyringRequest => ({ headers: { authorization: `Bearer ${key}` } });

async function refusal(decide: () => unknown): Promise<ApiKeyException> {
  try {
    await decide();
  } catch (error) {
    if (error instanceof ApiKeyException) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('ApiKeyGuard', () => {
  it('reads a route’s declarations once, and keeps the same handler apart under two controllers', async () => {
    const reflector = new CountingReflector();
    const { guard } = setup(reflector);
    expect(guard.canActivate(httpContext(OpenController, 'list', { headers: {} }))).toBe(true);
    const reads = reflector.reads;
    expect(reads).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++)
      expect(guard.canActivate(httpContext(OpenController, 'list', { headers: {} }))).toBe(true);
    expect(reflector.reads).toBe(reads);
    const refused = await refusal(() => guard.canActivate(httpContext(ClosedController, 'list', { headers: {} })));
    expect(refused.getStatus()).toBe(401);
    expect(reflector.reads).toBeGreaterThan(reads);
  });

  it('answers a cached key with a plain true, and only the first request with a promise', async () => {
    const { guard, lookup } = setup();
    const first = guard.canActivate(httpContext(ClosedController, 'list', keyed()));
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    const request = keyed();
    expect(guard.canActivate(httpContext(ClosedController, 'list', request))).toBe(true);
    expect(request.apiKey).toMatchObject({ id: 'key-prod' });
    expect(lookup.calls).toHaveLength(1);
  });

  it('refuses with the configured body and sets the challenge through the adapter', async () => {
    const { guard } = setup();
    const response = fakeResponse();
    const refused = await refusal(() =>
      guard.canActivate(httpContext(ClosedController, 'list', { headers: {} }, response)),
    );
    expect(refused.getResponse()).toEqual({
      success: false,
      error: { code: 'AUTHENTICATION_REQUIRED', message: expect.any(String) },
    });
    expect(response.headers['WWW-Authenticate']).toBe('Bearer realm="api"');
    const scoped = await refusal(() => guard.canActivate(httpContext(ClosedController, 'purge', keyed())));
    expect(scoped.reason).toBe('insufficient_scope');
  });

  it('refuses a context that carries no HTTP request, unless the route is @Public()', () => {
    const { guard } = setup();
    expect(guard.canActivate(otherContext('rpc', ClosedController, 'list', [keyed(), {}]))).toBe(false);
    expect(guard.canActivate(otherContext('rpc', OpenController, 'list', [keyed(), {}]))).toBe(true);
  });

  it('reads the request only through getRequest, so a subclass can serve another transport', async () => {
    class RpcApiKeyGuard extends ApiKeyGuard {
      protected override getRequest(context: ExecutionContext): KeyringRequest | undefined {
        return context.getType() === 'rpc'
          ? context.switchToRpc().getData<{ delivery: KeyringRequest }>().delivery
          : super.getRequest(context);
      }
    }
    const { keyring } = setup();
    const guard = new RpcApiKeyGuard(keyring, new Reflector(), fakeAdapterHost());
    // Anything the guard read from the context's own arguments would throw.
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read outside getRequest');
        },
      },
    );
    const delivery = keyed();
    expect(await guard.canActivate(otherContext('rpc', ClosedController, 'list', [{ delivery }, untouchable]))).toBe(
      true,
    );
    expect(delivery.apiKey).toMatchObject({ id: 'key-prod' });
    // Refused outside HTTP: the exception is the answer, and no response is written.
    const refused = await refusal(() =>
      guard.canActivate(
        otherContext('rpc', ClosedController, 'list', [{ delivery: keyed(KEYS.unknown) }, untouchable]),
      ),
    );
    expect(refused.reason).toBe('invalid');
  });

  it('uses what getRequest returns on HTTP too, and never the context’s own request', async () => {
    const wrapped = keyed();
    class WrappingGuard extends ApiKeyGuard {
      protected override getRequest(): KeyringRequest {
        return wrapped;
      }
    }
    const { keyring } = setup();
    const guard = new WrappingGuard(keyring, new Reflector(), fakeAdapterHost());
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read outside getRequest');
        },
      },
    );
    expect(await guard.canActivate(httpContext(ClosedController, 'list', untouchable))).toBe(true);
    expect(wrapped.apiKey).toMatchObject({ id: 'key-prod' });
  });
});

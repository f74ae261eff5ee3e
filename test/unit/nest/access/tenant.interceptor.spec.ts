import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { firstValueFrom, isObservable, Observable } from 'rxjs';
import { fakeAdapterHost, httpContext, otherContext } from '../../../fixtures/execution-context.js';
import { InMemoryLookup } from '../../../fixtures/in-memory-lookup.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { recordAdmission } from '../../../../lib/core/admission/request-admission.js';
import { TenantContext } from '../../../../lib/core/context/tenant-context.js';
import { KeyringException as ApiKeyException } from '../../../../lib/nest/refusals/keyring.exception.js';
import { Public } from '../../../../lib/nest/access/access.decorators.js';
import type { KeyringRequest } from '../../../../lib/nest/access/keyring-request.interface.js';
import { TenantInterceptor } from '../../../../lib/nest/access/tenant.interceptor.js';

@Controller('messages')
class MessagesController {
  @Get()
  list() {}

  @Public()
  @Get('status')
  status() {}
}

const tenants = new TenantContext();
/** A handler that answers the tenant it runs as, or `none`. */
const handler: CallHandler = {
  handle: () => new Observable((subscriber) => subscriber.next(tenants.find()?.id ?? 'none')),
};

function interceptor(options: { resolveTenants?: () => Promise<{ id: number }[]> } = {}) {
  const keyring = new Keyring({ lookup: new InMemoryLookup(), ...options });
  return new TenantInterceptor(keyring, tenants, new Reflector(), fakeAdapterHost());
}

async function answer(result: Observable<unknown> | Promise<Observable<unknown>>): Promise<unknown> {
  return firstValueFrom(await result);
}

describe('TenantInterceptor', () => {
  it('runs the handler as the tenant the guard chose, returning the Observable at once', async () => {
    const request: KeyringRequest = { headers: { 'x-tenant-id': '9' } };
    recordAdmission(request, { record: { id: 'k', tenants: [{ id: 9 }] }, tenant: { id: 9 } });
    const result = interceptor().intercept(httpContext(MessagesController, 'list', request), handler);
    expect(isObservable(result)).toBe(true);
    expect(await answer(result)).toBe(9);
    expect(request.tenant).toEqual({ id: 9 });
  });

  it('chooses from the record another mechanism put on the request, awaiting resolveTenants', async () => {
    const fromRecord: KeyringRequest = {
      headers: { 'x-tenant-id': '2' },
      apiKey: { id: 'k', tenants: [{ id: 1 }, { id: 2 }] },
    };
    expect(await answer(interceptor().intercept(httpContext(MessagesController, 'list', fromRecord), handler))).toBe(2);
    const resolved: KeyringRequest = { headers: {}, apiKey: { id: 'k' } };
    const later = interceptor({ resolveTenants: async () => [{ id: 5 }] }).intercept(
      httpContext(MessagesController, 'list', resolved),
      handler,
    );
    expect(later).toBeInstanceOf(Promise);
    expect(await answer(later)).toBe(5);
  });

  it(
    'refuses a request no key was authenticated for, ' + 'and leaves public routes and other transports alone',
    async () => {
      expect(() => interceptor().intercept(httpContext(MessagesController, 'list', { headers: {} }), handler)).toThrow(
        ApiKeyException,
      );
      expect(
        await answer(interceptor().intercept(httpContext(MessagesController, 'status', { headers: {} }), handler)),
      ).toBe('none');
      expect(
        await answer(interceptor().intercept(otherContext('rpc', MessagesController, 'list', [{}]), handler)),
      ).toBe('none');
    },
  );

  it('reads the request only through getRequest, so a subclass can serve another transport', async () => {
    class RpcTenantInterceptor extends TenantInterceptor {
      protected override getRequest(context: ExecutionContext): KeyringRequest | undefined {
        return context.getType() === 'rpc'
          ? context.switchToRpc().getData<{ delivery: KeyringRequest }>().delivery
          : super.getRequest(context);
      }
    }
    const keyring = new Keyring({ lookup: new InMemoryLookup() });
    const rpc = new RpcTenantInterceptor(keyring, tenants, new Reflector(), fakeAdapterHost());
    const delivery: KeyringRequest = { headers: {}, apiKey: { id: 'k', tenants: [{ id: 3 }] } };
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('read outside getRequest');
        },
      },
    );
    expect(
      await answer(
        rpc.intercept(otherContext('rpc', MessagesController, 'list', [{ delivery }, untouchable]), handler),
      ),
    ).toBe(3);
    expect(delivery.tenant).toEqual({ id: 3 });
  });
});

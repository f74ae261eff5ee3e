import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Post, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeyAuth, Public, RequireScopes, WebhookSecret } from '../../../../lib/nest/access/access.decorators.js';
import { ApiKeyGuard } from '../../../../lib/nest/access/api-key.guard.js';
import { WebhookSecretGuard } from '../../../../lib/nest/webhooks/webhook-secret.guard.js';
import { declarationsOf, type MetadataTarget } from '../../../../lib/nest/access/route-declarations.js';

@Injectable()
class TenantAwareGuard extends ApiKeyGuard {}

@Injectable()
class UnrelatedGuard {
  canActivate() {
    return true;
  }
}

@Public()
@Controller()
class RoutesController {
  @Get('plain') plain() {}
  @Public() @Get('open') open() {}
  @ApiKeyAuth() @Get('auth') auth() {}
  @UseGuards(ApiKeyGuard) @Get('guarded') guarded() {}
  @UseGuards(TenantAwareGuard) @Get('subclass') subclass() {}
  @UseGuards(new TenantAwareGuard(undefined as never, new Reflector(), undefined as never))
  @Get('instance')
  instance() {}
  @RequireScopes('read') @Get('scoped') scoped() {}
  @WebhookSecret() @Post('hook') hook() {}
  @UseGuards(WebhookSecretGuard) @Get('webhook-guard') webhookGuard() {}
  @UseGuards(UnrelatedGuard) @Get('unrelated') unrelated() {}
}

const guards = { apiKey: ApiKeyGuard, webhook: WebhookSecretGuard };
const declared = (name: keyof RoutesController) =>
  declarationsOf(new Reflector(), RoutesController.prototype[name] as MetadataTarget, guards);

describe('declarationsOf', () => {
  it('reads a route that declares nothing as declaring nothing', () => {
    expect(declared('plain')).toEqual({ public: false, apiKey: false, webhook: false });
    expect(declared('unrelated')).toEqual({ public: false, apiKey: false, webhook: false });
  });

  it('reads @Public() on a route and on a controller', () => {
    expect(declared('open')).toEqual({ public: true, apiKey: false, webhook: false });
    expect(declarationsOf(new Reflector(), RoutesController, guards)).toEqual({
      public: true,
      apiKey: false,
      webhook: false,
    });
  });

  it.each(['auth', 'guarded', 'subclass', 'instance', 'scoped'] as const)('reads %s as API-key auth', (name) => {
    expect(declared(name)).toEqual({ public: false, apiKey: true, webhook: false });
  });

  it.each(['hook', 'webhookGuard'] as const)('reads %s as a webhook route', (name) => {
    expect(declared(name)).toEqual({ public: false, apiKey: false, webhook: true });
  });
});

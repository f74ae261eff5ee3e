import { describe, expect, it } from '@jest/globals';
import { requestRoute } from '../../../../lib/core/admission/request-route.js';

describe('requestRoute', () => {
  it('takes the route pattern Express matched, under its mount path', () => {
    const request = {
      method: 'GET',
      baseUrl: '/api',
      route: { path: '/messages/:id' },
      originalUrl: '/api/messages/9',
    };
    expect(requestRoute(request)).toEqual({ method: 'GET', route: '/api/messages/:id' });
  });

  it("takes the route pattern Fastify matched (Nest's Fastify request)", () => {
    const request = { method: 'POST', routeOptions: { url: '/messages/:id' }, url: '/messages/9?x=1' };
    expect(requestRoute(request)).toEqual({ method: 'POST', route: '/messages/:id' });
  });

  it('falls back on the path before routing, never with its query string', () => {
    expect(requestRoute({ method: 'GET', url: '/api/messages?api_key=pk_secret' })).toEqual({
      method: 'GET',
      route: '/api/messages',
    });
    expect(requestRoute({ method: 'GET', originalUrl: '/api/x?token=1', url: '/x?token=1' }).route).toBe('/api/x');
  });

  it('answers empty strings for a request with none of these fields', () => {
    expect(requestRoute({})).toEqual({ method: '', route: '' });
  });
});

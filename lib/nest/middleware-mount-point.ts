import type { HttpServer } from '@nestjs/common';

/**
 * The route pattern that matches every path, in the syntax of the HTTP platform the app runs on:
 * Express 4 and Fastify 4 (Nest 10) still take the old wildcards, Express 5 and Fastify 5
 * (Nest 11 and later) the path-to-regexp 8 ones. Told apart by what each major removed.
 */
export function everyRoute(adapter: HttpServer): string {
  const instance = adapter.getInstance() as Record<string, unknown>;
  if (adapter.getType() === 'fastify') {
    // Fastify 5 removed getDefaultRoute/setDefaultRoute.
    return typeof instance.getDefaultRoute === 'function' ? '(.*)' : '{*path}';
  }
  // Express 5 removed app.del.
  return typeof instance.del === 'function' ? '*' : '/';
}

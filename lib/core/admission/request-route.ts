/** The fields of the requests of Node, Express and Fastify (raw or wrapped) this reads. */
interface RoutedRequest {
  method?: unknown;
  url?: unknown;
  originalUrl?: unknown;
  baseUrl?: unknown;
  /** Express: the matched route, inside a route (Nest's controllers are routes). */
  route?: { path?: unknown };
  /** Fastify: the matched route. */
  routeOptions?: { url?: unknown };
}

/**
 * What a request is known by in diagnostics messages, read only when someone subscribes (so the
 * request path pays nothing for it): its method and route, the pattern the framework matched
 * (`/messages/:id`) when it has matched one (Nest on either adapter; an Express route's own
 * middleware), else the path without its query string (Express middleware mounted with
 * `app.use`, before routing). Never the query string, which may carry anything a client sent.
 */
export function requestRoute(request: object): { readonly method: string; readonly route: string } {
  const routed = request as RoutedRequest;
  const method = typeof routed.method === 'string' ? routed.method : '';
  const fastify = routed.routeOptions?.url;
  if (typeof fastify === 'string') return { method, route: fastify };
  const express = routed.route?.path;
  const base = typeof routed.baseUrl === 'string' ? routed.baseUrl : '';
  if (typeof express === 'string') return { method, route: base + express };
  const url = typeof routed.originalUrl === 'string' ? routed.originalUrl : routed.url;
  const path = typeof url === 'string' ? url : '';
  const query = path.indexOf('?');
  return { method, route: query === -1 ? path : path.slice(0, query) };
}

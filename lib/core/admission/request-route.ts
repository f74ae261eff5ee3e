/**
 * What a request is known by in diagnostics messages: its method and its route. Read only when
 * someone subscribes, so the request path pays nothing for it.
 */
export interface RequestRoute {
  readonly method: string;
  readonly route: string;
}

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
 * The request's method and route: the pattern the framework matched (`/messages/:id`) when it
 * has matched one (Nest on either adapter; an Express route's own middleware), else the path
 * without its query string (Express middleware mounted with `app.use`, before routing). Never
 * the query string, which may carry anything a client sent.
 */
export function requestRoute(request: object): RequestRoute {
  const routed = request as RoutedRequest;
  const method = typeof routed.method === 'string' ? routed.method : '';
  return { method, route: matchedRoute(routed) ?? pathOf(routed) };
}

function matchedRoute(request: RoutedRequest): string | undefined {
  const fastify = request.routeOptions?.url;
  if (typeof fastify === 'string') return fastify;
  const express = request.route?.path;
  if (typeof express !== 'string') return undefined;
  return (typeof request.baseUrl === 'string' ? request.baseUrl : '') + express;
}

function pathOf(request: RoutedRequest): string {
  const url = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  if (typeof url !== 'string') return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

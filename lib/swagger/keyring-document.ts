import type { INestApplication } from '@nestjs/common';
import {
  DECORATORS,
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type SecuritySchemeObject,
  type SwaggerDocumentOptions,
} from '@nestjs/swagger';
import { KeyringConfigError } from '../core/refusals/failure.js';
import type { Keyring } from '../core/keyring.js';
import type { ResolvedKeyringOptions } from '../core/options/keyring-options.js';
import { KEYRING } from '../nest/module/api-key.constants.js';
import type { MetadataTarget } from '../nest/access/route-declarations.js';
import { markOperation, type MarkingContext } from './operation-security.js';
import { ERROR_SCHEMA, errorBodySchema, type Refusal } from './refusal-responses.js';
import { guardRunsAppWide, routeSecurities, type RouteSecurity } from './route-security.js';
import { apiKeySchemes, webhookSchemeName, webhookSecretScheme } from './security-schemes.js';

/** Options of `createKeyringDocument`: those of `SwaggerModule.createDocument`, and one more. */
export interface KeyringDocumentOptions extends SwaggerDocumentOptions {
  /**
   * Whether `ApiKeyGuard` runs for every route, so that routes declaring nothing need a key.
   * Read from the app when omitted (`protectAllRoutes: true`, an `APP_GUARD` or
   * `app.useGlobalGuards()` with `ApiKeyGuard`); set it where the guard runs app-wide in a way
   * the app does not show, e.g. called from a guard of your own.
   */
  protectAllRoutes?: boolean;
}

// Put on each route's handler while `@nestjs/swagger` scans the app, so that every operation it
// writes names its route, whatever path, prefix, version or operation id it gets.
const ROUTE_MARKER = 'x-nest-keyring-route';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'query'] as const;

function keyringOf(app: INestApplication): Keyring {
  try {
    return app.get<Keyring>(KEYRING, { strict: false });
  } catch {
    throw new KeyringConfigError(
      'createKeyringDocument() found no ApiKeyModule in this app: import ApiKeyModule.forRoot() ' +
        '(or forRootAsync()) in the module the app is created from.',
    );
  }
}

/** Runs `scan` with every route's handler marked with its index in `routes`, then unmarks them. */
function withRouteMarkers<T>(routes: readonly RouteSecurity[], scan: () => T): T {
  const saved = new Map<MetadataTarget, { own: boolean; value: unknown }>();
  routes.forEach(({ route: { handler } }, index) => {
    // A method two controllers share (one extends the other) keeps the first route's mark.
    if (saved.has(handler)) return;
    const own = Reflect.hasOwnMetadata(DECORATORS.API_EXTENSION, handler);
    const value: unknown = Reflect.getOwnMetadata(DECORATORS.API_EXTENSION, handler);
    saved.set(handler, { own, value });
    const extensions = (own ? value : Reflect.getMetadata(DECORATORS.API_EXTENSION, handler)) ?? {};
    Reflect.defineMetadata(DECORATORS.API_EXTENSION, { ...extensions, [ROUTE_MARKER]: index }, handler);
  });
  try {
    return scan();
  } finally {
    for (const [handler, { own, value }] of saved) {
      if (own) Reflect.defineMetadata(DECORATORS.API_EXTENSION, value, handler);
      else Reflect.deleteMetadata(DECORATORS.API_EXTENSION, handler);
    }
  }
}

type MarkableOperation = OperationObject & Record<string, unknown>;

function operationsOf(document: OpenAPIObject): MarkableOperation[] {
  return [document.paths, document.webhooks ?? {}].flatMap((items) =>
    Object.values(items).flatMap((item) => HTTP_METHODS.flatMap((method) => item[method] ?? [])),
  ) as MarkableOperation[];
}

/** Writes the schemes, and each marked operation's requirement and refusals, into `document`. */
function markDocument(
  document: OpenAPIObject,
  routes: readonly RouteSecurity[],
  options: ResolvedKeyringOptions,
): void {
  const keySchemes = apiKeySchemes(options.headers);
  const webhookSchemes: Record<string, SecuritySchemeObject> = {};
  for (const { webhook } of routes) {
    if (webhook?.scheme === 'bearer')
      webhookSchemes[webhookSchemeName(webhook.name)] = webhookSecretScheme(webhook.name);
  }
  const context: MarkingContext = {
    options,
    document,
    apiKeySchemes: Object.keys(keySchemes),
    ownSchemes: new Set([...Object.keys(keySchemes), ...Object.keys(webhookSchemes)]),
  };

  const refusals: Refusal[] = [];
  for (const operation of operationsOf(document)) {
    const index = operation[ROUTE_MARKER];
    if (typeof index !== 'number') continue;
    delete operation[ROUTE_MARKER];
    refusals.push(...markOperation(operation, routes[index]!, context));
  }

  const components = (document.components ??= {});
  components.securitySchemes = { ...keySchemes, ...webhookSchemes, ...components.securitySchemes };
  if (refusals.length > 0) {
    components.schemas = { ...components.schemas, [ERROR_SCHEMA]: errorBodySchema(options, refusals) };
  }
}

/**
 * Builds the OpenAPI document of a Nest app, as `SwaggerModule.createDocument` does, with what
 * nest-keyring checks written into it:
 *
 * - the security schemes: HTTP bearer (`Authorization: Bearer <key>`) and an `apiKey` in the
 *   `X-API-KEY` header, following the `headers` option, and one bearer scheme per webhook secret
 *   a route checks;
 * - on each operation, the requirement its guards enforce: routes behind `ApiKeyGuard`
 *   (`@ApiKeyAuth()`, `@UseGuards(ApiKeyGuard)`, `@RequireScopes()`, or `protectAllRoutes`)
 *   need a key, `@Public()` routes nothing, webhook routes their secret; the nearest declaration
 *   wins, as in the guard;
 * - the scopes of `@RequireScopes()` (in the description; in the requirement too from OpenAPI
 *   3.1 on), the tenant header (`X-TENANT-ID`) with `tenancy` on, and the 401/403/429/503
 *   answers with the body of the configured `errorFormat`, each code as an example.
 *
 * The app must be created (`NestFactory.create`), with `ApiKeyModule` imported; it need not
 * listen yet. Responses and security the app declares with `@nestjs/swagger` decorators stay.
 *
 * @param config a `DocumentBuilder`, or what its `build()` returned
 * @throws KeyringConfigError when the app does not import `ApiKeyModule`
 *
 * @example
 * const app = await NestFactory.create(AppModule);
 * const document = createKeyringDocument(app, new DocumentBuilder().setTitle('Messages API'));
 * SwaggerModule.setup('docs', app, document); // UI at /docs, JSON at /docs-json
 * await app.listen(3000);
 */
export function createKeyringDocument(
  app: INestApplication,
  config: DocumentBuilder | Omit<OpenAPIObject, 'paths'>,
  options: KeyringDocumentOptions = {},
): OpenAPIObject {
  const keyring = keyringOf(app);
  const { protectAllRoutes = guardRunsAppWide(app), ...documentOptions } = options;
  const routes = routeSecurities(app, keyring, protectAllRoutes);
  const built = config instanceof DocumentBuilder ? config.build() : config;
  const document = withRouteMarkers(routes, () => SwaggerModule.createDocument(app, built, documentOptions));

  markDocument(document, routes, keyring.options);
  return document;
}

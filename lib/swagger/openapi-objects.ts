import type { OpenAPIObject } from '@nestjs/swagger';

// Read from OpenAPIObject, the one OpenAPI type that @nestjs/swagger 7 (Nest 10) exports as well.
type Components = NonNullable<OpenAPIObject['components']>;
type Named<T extends Record<string, unknown> | undefined> = Exclude<NonNullable<T>[string], { $ref: string }>;
export type ResponseObject = Named<Components['responses']>;
export type SchemaObject = Named<Components['schemas']>;
export type SecuritySchemeObject = Named<Components['securitySchemes']>;

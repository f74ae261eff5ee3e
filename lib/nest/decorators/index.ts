export * from './current-api-key.decorator.js';
export * from './public.decorator.js';
export * from './require-scopes.decorator.js';

import { SetMetadata } from '@nestjs/common';
import { PUBLIC_ROUTE_METADATA } from '../api-key.constants.js';

/**
 * Lets a route (or every route of a controller) through without an API key, when the guard is
 * registered for every route (`protectAllRoutes: true`) or on the controller.
 *
 * @example
 * @Public()
 * @Get('health')
 * health() { return { ok: true }; }
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE_METADATA, true);

import { Inject } from '@nestjs/common';
import { KEYRING } from '../api-key.constants.js';

/**
 * Injects the `Keyring` that `ApiKeyModule` configured (one per app: its options, its cache),
 * so a service of yours can make the same decisions as the guards: authenticate a key that
 * arrives another way, pick a tenant, shape a refusal.
 *
 * @example
 * @Injectable()
 * export class KeyCheckService {
 *   constructor(@InjectKeyring() private readonly keyring: Keyring) {}
 *
 *   async isValid(key: string): Promise<boolean> {
 *     return (await this.keyring.authenticate({ 'x-api-key': key })).ok;
 *   }
 * }
 */
export const InjectKeyring = (): PropertyDecorator & ParameterDecorator => Inject(KEYRING);

// What the in-process micro-benchmark (diagnostics-cost.ts) uses: one key the
// cache will hold, a route behind @ApiKeyAuth(), the module over an in-memory lookup, and the
// request every check reads.
import { Controller, Get } from '@nestjs/common';
import { ApiKeyAuth, ApiKeyModule, generateApiKey, hashApiKey, type ApiKeyRecord } from 'nest-keyring';

export const ITERATIONS = Number(process.env.MICRO_ITERATIONS ?? 200_000);
export const ROUNDS = 5;
export const { key, hash } = generateApiKey();
export const record: ApiKeyRecord = { id: 'key_1', tenants: [{ id: 1 }, { id: 2 }], scopes: ['messages:send'] };
export const records = new Map([[hash, record]]);

@Controller()
export class MessagesController {
  @ApiKeyAuth()
  @Get('messages')
  list() {
    return [];
  }
}

/** `ApiKeyModule` over the records above, looked up by the key's hash. */
export const keyringModule = () =>
  ApiKeyModule.forRoot({ lookup: { findKey: async (candidate) => records.get(hashApiKey(candidate)) ?? null } });

/** A request carrying the key, as Node gives it to a guard. */
export function request() {
  const authorization = `Bearer ${key}`;
  return {
    method: 'GET',
    url: '/messages',
    headers: { host: '127.0.0.1', 'user-agent': 'bench', accept: '*/*', authorization },
    rawHeaders: ['Host', '127.0.0.1', 'User-Agent', 'bench', 'Accept', '*/*', 'Authorization', authorization],
  };
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

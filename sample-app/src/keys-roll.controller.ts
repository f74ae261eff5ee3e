import { BadRequestException, Body, Controller, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiKeyCache, CurrentApiKey, RequireScopes } from 'nest-keyring';
import { parseOverlap } from './duration.js';
import { KeyRolls } from './store/key-roll.js';

/**
 * Rolling a key over HTTP: a new key for the same tenants and scopes, answered once in the body,
 * and the old key still working for an overlap (`{"overlap": "24h"}` by default) so its clients
 * can switch without downtime. Same rules as revoking (DELETE /api/v1/keys/:id): a caller rolls
 * only keys of its own environment whose tenants and scopes are all among its own (a roll must
 * never hand out rights the caller lacks); any other id is answered 404 like an id that does
 * not exist.
 */
@Controller('api/v1/keys')
export class KeysRollController {
  constructor(
    private readonly rolls: KeyRolls,
    private readonly cache: ApiKeyCache,
  ) {}

  @RequireScopes('keys:admin')
  @Post(':id/roll')
  @HttpCode(200)
  roll(@Param('id') id: string, @CurrentApiKey('id') callerId: string, @Body() body: unknown) {
    const overlapMs = overlapOf(body);
    const rolled = this.rolls.rollAs(String(callerId), id, overlapMs);
    if (rolled === undefined) {
      throw new NotFoundException({
        success: false,
        error: { code: 'KEY_NOT_FOUND', message: 'No active key with this id.' },
      });
    }
    // The store now gives the old key an end; the cache still holds its record without one.
    this.cache.invalidateRecord(id);
    return {
      success: true,
      data: {
        id: rolled.row.id,
        key: rolled.key,
        environment: rolled.row.environment,
        old_id: rolled.oldId,
        old_expires_at: rolled.oldExpiresAt.toISOString(),
      },
    };
  }
}

// The overlap when the body names none (the package's default, too).
const DEFAULT_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** The overlap the body asks for, 24 h when it names none. @throws BadRequestException */
function overlapOf(body: unknown): number {
  const overlap = typeof body === 'object' && body !== null ? (body as { overlap?: unknown }).overlap : undefined;
  if (overlap === undefined) return DEFAULT_OVERLAP_MS;
  const overlapMs = typeof overlap === 'string' ? tryParseOverlap(overlap) : undefined;
  if (overlapMs !== undefined) return overlapMs;
  throw new BadRequestException({
    success: false,
    error: { code: 'INVALID_OVERLAP', message: 'overlap must be a duration from 0s to 30d, such as "1m" or "24h".' },
  });
}

function tryParseOverlap(text: string): number | undefined {
  try {
    return parseOverlap(text);
  } catch {
    return undefined;
  }
}

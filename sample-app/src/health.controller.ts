import { Controller, Get } from '@nestjs/common';
import { Public } from 'nest-keyring';

/** Reachable without a key although the guard is global (`@Public()`). */
@Controller('health')
export class HealthController {
  @Public()
  @Get()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

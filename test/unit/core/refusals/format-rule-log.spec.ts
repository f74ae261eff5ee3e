import { describe, expect, it } from '@jest/globals';
import { FormatRuleLog } from '../../../../lib/core/refusals/format-rule-log.js';
import type { KeyringFailure } from '../../../../lib/core/refusals/failure.js';

const checksum: KeyringFailure = { reason: 'invalid', detail: 'its checksum does not match' };
const signature: KeyringFailure = { reason: 'invalid', detail: 'its signature does not verify' };

describe('FormatRuleLog', () => {
  it('gives one line per rule every ten seconds, then says how many refusals it stood for', () => {
    let now = 1_000_000;
    const log = new FormatRuleLog(() => now);
    expect(log.lineFor(checksum)).toBe('API key refused before any lookup: its checksum does not match');
    for (let i = 0; i < 500; i++) expect(log.lineFor(checksum)).toBeUndefined();
    // Another rule has its own line.
    expect(log.lineFor(signature)).toBe('API key refused before any lookup: its signature does not verify');
    now += 9_999;
    expect(log.lineFor(checksum)).toBeUndefined();
    now += 1;
    expect(log.lineFor(checksum)).toBe(
      'API key refused before any lookup: its checksum does not match (and 501 more since the last line)',
    );
    now += 10_000;
    expect(log.lineFor(checksum)).toBe('API key refused before any lookup: its checksum does not match');
  });

  it('gives no line for a refusal that is not a format rule', () => {
    const log = new FormatRuleLog(() => 0);
    expect(log.lineFor({ reason: 'invalid' })).toBeUndefined();
    expect(log.lineFor({ reason: 'lookup_unavailable', cause: new Error('down') })).toBeUndefined();
  });
});

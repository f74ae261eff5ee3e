import { describe, expect, it } from '@jest/globals';
import { createSecretMatcher } from '../../../../lib/core/webhooks/webhook-bearer.js';

const OLD = 'eckjXYULLRy7KSshlixEyBnJylZCbfyLus2YTOoc';
const NEW = '2z8p1VNs7J6DZZinbsrvi9G2gxfXb9ulruj2UrFm';

describe('createSecretMatcher', () => {
  const matches = createSecretMatcher([OLD, NEW]);

  it('matches every configured secret', () => {
    expect(matches(OLD)).toBe(true);
    expect(matches(NEW)).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['a far shorter value', 'abc'],
    ['a far longer value', NEW.repeat(30)],
    ['the first character changed', `x${NEW.slice(1)}`],
    ['the last character changed', `${NEW.slice(0, -1)}x`],
    ['one character missing', NEW.slice(0, -1)],
    ['one character more', `${NEW}m`],
    ['the same text with one combining mark', `${NEW}\u0301`],
  ])('refuses %s, whatever its length', (_, presented) => {
    expect(matches(presented)).toBe(false);
  });

  it('matches nothing when nothing is configured', () => {
    expect(createSecretMatcher([])(OLD)).toBe(false);
  });
});

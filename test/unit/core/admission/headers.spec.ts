import { describe, expect, it } from '@jest/globals';
import { repeatedHeader } from '../../../../lib/core/admission/headers.js';

describe('repeatedHeader', () => {
  const names = ['authorization', 'x-api-key'];

  it('finds a header sent on two lines, whatever its case', () => {
    expect(repeatedHeader(['Authorization', 'Bearer a', 'Host', 'x', 'authorization', 'Bearer b'], names)).toBe(
      'authorization',
    );
    expect(repeatedHeader(['X-API-KEY', 'a', 'x-api-key', 'a'], names)).toBe('x-api-key');
  });

  it('lets each header appear once, and ignores headers it was not asked about', () => {
    expect(
      repeatedHeader(['Authorization', 'Bearer a', 'X-API-KEY', 'a', 'Accept', '*/*', 'Accept', 'x'], names),
    ).toBeUndefined();
    expect(repeatedHeader([], names)).toBeUndefined();
    expect(repeatedHeader(undefined, names)).toBeUndefined();
  });

  it('does not mistake a value for a name', () => {
    expect(repeatedHeader(['X-Note', 'authorization', 'Authorization', 'Bearer a'], names)).toBeUndefined();
  });
});

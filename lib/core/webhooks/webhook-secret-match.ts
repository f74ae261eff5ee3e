import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A constant-time test of a presented secret against every configured one.
 *
 * Both sides are reduced to HMAC-SHA256 digests under a key drawn at start-up, so every
 * comparison is of two 32-byte values: neither the length nor the content of a configured secret
 * changes how long the test takes (`timingSafeEqual` alone throws on unequal lengths, which is an
 * early exit). Every configured secret is compared, matched or not, so the time does not say
 * which one matched either. The matcher keeps only digests, never the secrets themselves.
 *
 * @example
 * const matches = createSecretMatcher([oldSecret, newSecret]);
 * matches(presented); // true for either secret
 */
export function createSecretMatcher(secrets: readonly string[]): (presented: string) => boolean {
  // A key of our own, never published: nobody can precompute digests to compare against.
  const key = randomBytes(32);
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value, 'utf8').digest();
  const expected = secrets.map(digest);
  return (presented) => {
    const actual = digest(presented);
    let matched = false;
    for (const candidate of expected) {
      // No `break` and no `||` short-circuit: the work is the same whichever secret matches.
      if (timingSafeEqual(actual, candidate)) matched = true;
    }
    return matched;
  };
}

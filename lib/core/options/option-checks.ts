import { KeyringConfigError } from '../refusals/failure.js';

/** Edit distance between two short names (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known name `name` was most likely meant to be, if one is close enough. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const candidateLower = candidate.toLowerCase();
    // A plural, a singular or a longer/shorter form of a known name counts as close.
    const related = lower.startsWith(candidateLower) || candidateLower.startsWith(lower);
    const distance = related ? 1 : editDistance(lower, candidateLower);
    if (distance <= Math.max(2, Math.floor(candidate.length / 3)) && (best === undefined || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/**
 * Refuses option names nobody reads: a misspelt option (`tenantHeaders`, `webhookSecret`) would
 * otherwise be ignored in silence and its default used instead.
 *
 * @param prefix how the object is named in messages, e.g. `'cache.'`
 * @throws KeyringConfigError naming the unknown option, the closest known one, and all known ones
 */
export function refuseUnknownOptions(options: object, known: readonly string[], prefix = ''): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const closest = closestName(name, known);
    const hint = closest === undefined ? '' : ` Did you mean \`${prefix}${closest}\`?`;
    throw new KeyringConfigError(
      `unknown option \`${prefix}${name}\`.${hint} ` +
        `Known options: ${known.map((option) => prefix + option).join(', ')}.`,
    );
  }
}

/** `value`, or `fallback` when it is absent. @throws KeyringConfigError when it is not a boolean */
export function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new KeyringConfigError(`\`${name}\` must be true or false; got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** `value` if it is a number of at least 1 (`whole`: a safe integer). @throws KeyringConfigError */
export function checkAtLeastOne(name: string, value: unknown, whole = true): number {
  const valid = typeof value === 'number' && value >= 1 && (whole ? Number.isSafeInteger(value) : value < Infinity);
  if (!valid) {
    throw new KeyringConfigError(
      `\`${name}\` must be a ${whole ? 'whole ' : ''}number of at least 1; got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * An option that groups settings: `false` turns its capability off, anything else but an object
 * is refused, and the object's names are checked and laid over `defaults`.
 *
 * @param example shown in the message, e.g. `'{ ttlMs: 30000 }'`
 * @throws KeyringConfigError
 */
export function resolveOptionGroup<T extends object>(
  name: string,
  given: Partial<T> | false | undefined,
  defaults: T,
  example: string,
): T | false {
  if (given === false) return false;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new KeyringConfigError(`\`${name}\` must be an object such as ${example}, or false.`);
  }
  refuseUnknownOptions(given ?? {}, Object.keys(defaults), `${name}.`);
  return { ...defaults, ...given };
}

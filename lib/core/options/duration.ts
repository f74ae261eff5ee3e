import { KeyringConfigError } from '../refusals/failure.js';

/**
 * The longest duration an option takes: 2^31 − 1 ms (about 24.8 days), the longest delay Node's
 * timers accept. Past it a timer fires at once, and a date computed from it may overflow.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
const MAX_DURATION_SECONDS = Math.floor(MAX_DURATION_MS / 1000);

/** What a duration may be: 0 or more (`positive`: above 0), at most `max` (`MAX_DURATION_MS`). */
export interface DurationBounds {
  positive?: boolean;
  whole?: boolean;
  /** Counted in seconds (the default maximum too). */
  seconds?: boolean;
  max?: number;
}

/** Whether `value` is a duration within `bounds`; NaN and ±Infinity never are. */
export function isDuration(value: unknown, bounds: DurationBounds = {}): value is number {
  const { positive, whole, seconds, max = seconds ? MAX_DURATION_SECONDS : MAX_DURATION_MS } = bounds;
  if (typeof value !== 'number' || !(positive ? value > 0 : value >= 0) || !(value <= max)) return false;
  return !whole || Number.isInteger(value);
}

/**
 * The one check of every duration (timeouts, intervals, TTLs, windows, overlaps), so that every
 * timer it arms and every date it gives is a real one.
 *
 * @param makeError the error to throw; a `KeyringConfigError` (start-up) unless given
 * @throws what `makeError` makes, naming the option, its bounds and the value given
 */
export function checkDuration(
  name: string,
  value: unknown,
  bounds: DurationBounds = {},
  makeError: (message: string) => Error = (message) => new KeyringConfigError(message),
): number {
  if (isDuration(value, bounds)) return value;
  throw makeError(durationMessage(name, value, bounds));
}

function durationMessage(name: string, value: unknown, bounds: DurationBounds): string {
  const { positive, whole, seconds, max = seconds ? MAX_DURATION_SECONDS : MAX_DURATION_MS } = bounds;
  return (
    `\`${name}\` must be a ${whole ? 'whole ' : ''}number of ${seconds ? 'seconds' : 'milliseconds'}` +
    `${positive ? ' above 0' : ', 0 or more,'} and at most ${max}; got ${String(value)}.`
  );
}

/**
 * `pending`'s answer, or a rejection with `timeoutError()` once `timeoutMs` has passed (a late
 * answer is dropped, a late rejection never unhandled). The timer never keeps the process alive.
 */
export function withTimeout<T>(pending: Promise<T>, timeoutMs: number, timeoutError: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), timeoutMs);
    timer.unref?.();
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

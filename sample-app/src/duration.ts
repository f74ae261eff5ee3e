const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;

/** Milliseconds in a duration such as `500ms`, `1s`, `1m`, `24h` or `7d`; `undefined` when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A duration in its largest whole unit, e.g. 86400000 → `1d`, 5000 → `5s`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** A key's own rate limit: at most `limit` requests every `windowMs`. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** `5/1s` → `{ limit: 5, windowMs: 1000 }`. @throws Error saying what is expected */
export function parseRateLimit(text: string): RateLimit {
  const [count, window, ...rest] = text.split('/');
  const limit = /^\d{1,9}$/.test(count?.trim() ?? '') ? Number(count) : Number.NaN;
  const windowMs = window === undefined ? undefined : parseDuration(window);
  if (rest.length > 0 || !(limit >= 1) || windowMs === undefined || windowMs < 1) {
    throw new Error(
      `a rate limit is N/<duration>, N at least 1 and the duration such as 500ms, 1s, 1m or 24h ` +
        `(e.g. 5/1s or 100/1m); got "${text}"`,
    );
  }
  return { limit, windowMs };
}

/** `{ limit: 5, windowMs: 1000 }` → `5/1s`. */
export function formatRateLimit({ limit, windowMs }: RateLimit): string {
  return `${limit}/${formatDuration(windowMs)}`;
}

/** The longest overlap a roll may give the old key. */
export const MAX_ROLL_OVERLAP_MS = 30 * UNIT_MS.d;

/** The overlap of a key roll, from `24h` and the like (0 to 30 days). @throws Error saying what is expected */
export function parseOverlap(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms > MAX_ROLL_OVERLAP_MS) {
    throw new Error(`the overlap is a duration from 0s to 30d such as 500ms, 1s, 1m or 24h; got "${text}"`);
  }
  return ms;
}

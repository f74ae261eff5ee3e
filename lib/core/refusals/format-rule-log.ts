import type { KeyringFailure } from './failure.js';

/** How long a format rule's debug line stands for the refusals that follow it. */
const FORMAT_RULE_LINE_EVERY_MS = 10_000;

/**
 * The debug lines for keys the format rules refuse before any lookup: which rule (never the key),
 * at most one line per rule every ten seconds, with how many keys it refused since its last line.
 * Nest logs debug lines by default, and a flood of made-up keys must not become a flood of lines.
 */
export class FormatRuleLog {
  private readonly rules = new Map<string, { loggedAt: number; since: number }>();

  // A monotonic clock: a wall clock set back would silence the lines until it caught up.
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The line to log for `failure`, or `undefined`: another refusal, or its rule logged lately. */
  lineFor(failure: KeyringFailure): string | undefined {
    const rule = failure.detail;
    if (rule === undefined) return undefined;
    const now = this.now();
    const last = this.rules.get(rule);
    if (last !== undefined && now - last.loggedAt < FORMAT_RULE_LINE_EVERY_MS) {
      last.since += 1;
      return undefined;
    }
    // The rules are a handful of fixed sentences, so this map stays that small.
    this.rules.set(rule, { loggedAt: now, since: 0 });
    const more = last === undefined || last.since === 0 ? '' : ` (and ${last.since} more since the last line)`;
    return `API key refused before any lookup: ${rule}${more}`;
  }
}

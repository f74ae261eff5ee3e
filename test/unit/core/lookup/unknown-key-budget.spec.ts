import { describe, expect, it } from '@jest/globals';
import { UnknownKeyBudget } from '../../../../lib/core/lookup/unknown-key-budget.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** One attempt to look up an unknown key for `client`: true when it reached the store. */
function attempt(budget: UnknownKeyBudget, client: string): boolean {
  if (budget.refusal(client) !== undefined) return false;
  budget.chargeUnknown(client);
  return true;
}

const WIDE = { perSecond: 1000, burst: 1000 };

describe('UnknownKeyBudget', () => {
  it("lets a client's burst of unknown keys through, then as many per second as configured", () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ ...WIDE, perClientPerSecond: 10, perClientBurst: 20 }, time.now);
    let looked = 0;
    // A flood from one address: 1,000 attempts every 100 ms for 10 s.
    for (let tick = 0; tick < 100; tick++) {
      for (let i = 0; i < 1000; i++) if (attempt(budget, '192.0.2.1')) looked++;
      time.advance(100);
    }
    // burst + perClientPerSecond × 10 s, never the 100,000 attempts.
    expect(looked).toBeGreaterThanOrEqual(100);
    expect(looked).toBeLessThanOrEqual(20 + 10 * 10);
  });

  it("spends only the flooding client's budget: another client is still looked up", () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ ...WIDE, perClientPerSecond: 1, perClientBurst: 5 }, time.now);
    for (let i = 0; i < 100; i++) attempt(budget, '192.0.2.1');
    expect(budget.refusal('192.0.2.1')?.failure.reason).toBe('lookup_throttled');
    expect(budget.refusal('192.0.2.2')).toBeUndefined();
    expect(budget.refusal('')).toBeUndefined();
  });

  it('never counts found keys', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ perSecond: 1, burst: 1, perClientPerSecond: 1, perClientBurst: 1 }, time.now);
    for (let i = 0; i < 1000; i++) expect(budget.refusal('192.0.2.1')).toBeUndefined();
  });

  it('bounds the store when many clients flood, and still looks up for a client that sent no unknown key', () => {
    const time = clock();
    const options = { perSecond: 100, burst: 200, perClientPerSecond: 10, perClientBurst: 10 };
    const budget = new UnknownKeyBudget(options, time.now);
    let looked = 0;
    // 1,000 addresses, each trying 5 unknown keys every 100 ms, for 10 s.
    for (let tick = 0; tick < 100; tick++) {
      for (let client = 0; client < 1000; client++)
        for (let i = 0; i < 5; i++) if (attempt(budget, `10.0.${client >> 8}.${client & 255}`)) looked++;
      // A client that sent no unknown key is looked up throughout.
      expect(budget.refusal('192.0.2.200')).toBeUndefined();
      time.advance(100);
    }
    // The store's budget (burst + 100/s), plus one lookup per address when it first shows up
    // and again each time it has been forgotten (at most every 10 s).
    expect(looked).toBeLessThanOrEqual(200 + 100 * 10 + 1000 * 2);
  });

  it('remembers a bounded number of clients; beyond it, new clients share the store budget alone', () => {
    const time = clock();
    const options = { perSecond: 10, burst: 10, perClientPerSecond: 1, perClientBurst: 1 };
    const budget = new UnknownKeyBudget(options, time.now, 100);
    for (let client = 0; client < 5000; client++) attempt(budget, `10.1.${client >> 8}.${client & 255}`);
    const tracked = budget as unknown as { current: Map<string, unknown>; previous: Map<string, unknown> };
    expect(tracked.current.size + tracked.previous.size).toBe(100);
    // The store's budget is spent and a new client cannot be told from the flood.
    expect(budget.refusal('192.0.2.9')?.failure.reason).toBe('lookup_throttled');
    // Once the flood stops, clients are forgotten and the budgets refill.
    time.advance(20_000);
    expect(budget.refusal('192.0.2.9')).toBeUndefined();
    expect(budget.refusal('10.1.0.1')).toBeUndefined();
    expect(tracked.current.size + tracked.previous.size).toBe(0);
  });

  it('forgets a client only once its budget has refilled', () => {
    const time = clock();
    const options = { ...WIDE, perClientPerSecond: 1, perClientBurst: 30 };
    const budget = new UnknownKeyBudget(options, time.now);
    for (let i = 0; i < 30; i++) attempt(budget, 'a');
    // 30 s to refill: two 10 s generations are not enough to forget it.
    time.advance(20_000);
    let looked = 0;
    for (let i = 0; i < 30; i++) if (attempt(budget, 'a')) looked++;
    expect(looked).toBe(20);
  });

  it('logs once per throttling period: only its first refusal carries a cause', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ ...WIDE, perClientPerSecond: 1, perClientBurst: 1 }, time.now);
    budget.chargeUnknown('a');
    const first = budget.refusal('a');
    expect(first?.failure.reason).toBe('lookup_throttled');
    expect(String(first?.failure.cause)).toMatch(/unknownKeyLookups allows \(1\/s per client, 1000\/s in all\)/);
    expect(budget.refusal('a')?.failure.cause).toBeUndefined();
    // Calm for 10 s: the period is over, and the next one is logged again.
    time.advance(10_000);
    expect(budget.refusal('a')).toBeUndefined();
    budget.chargeUnknown('a');
    expect(budget.refusal('a')?.failure.cause).toBeDefined();
  });

  it('logs a flood that goes on once, though every refill lets a lookup through', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ ...WIDE, perClientPerSecond: 100, perClientBurst: 500 }, time.now);
    let causes = 0;
    let looked = 0;
    // 30 s of unknown keys, 20 every 10 ms (2,000/s against a budget of 100/s).
    for (let tick = 0; tick < 3000; tick++) {
      for (let i = 0; i < 20; i++) {
        const refused = budget.refusal('a');
        if (refused === undefined) {
          looked++;
          budget.chargeUnknown('a');
        } else if (refused.failure.cause !== undefined) causes++;
      }
      time.advance(10);
    }
    expect(causes).toBe(1);
    // The budget still lets its rate through meanwhile.
    expect(looked).toBeGreaterThanOrEqual(500 + 100 * 29);
    expect(looked).toBeLessThanOrEqual(500 + 100 * 30 + 1);
  });

  it('counts lookups that were in flight when the budget ran out (the balance goes below zero)', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ ...WIDE, perClientPerSecond: 10, perClientBurst: 10 }, time.now);
    for (let i = 0; i < 30; i++) budget.chargeUnknown('a');
    time.advance(1000);
    // 10 refilled, 20 still owed.
    expect(budget.refusal('a')).toBeDefined();
    time.advance(2000);
    expect(budget.refusal('a')).toBeUndefined();
  });
});

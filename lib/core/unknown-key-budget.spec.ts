import { describe, expect, it } from '@jest/globals';
import { UnknownKeyBudget } from './unknown-key-budget.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('UnknownKeyBudget', () => {
  it('lets a burst of unknown keys through, then as many per second as configured', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ perSecond: 10, burst: 20 }, time.now);
    let looked = 0;
    // A flood: 1,000 attempts every 100 ms for 10 s.
    for (let tick = 0; tick < 100; tick++) {
      for (let attempt = 0; attempt < 1000; attempt++) {
        if (budget.refusal() === undefined) {
          looked++;
          budget.chargeUnknown();
        }
      }
      time.advance(100);
    }
    // burst + perSecond × 10 s, never the 100,000 attempts.
    expect(looked).toBeGreaterThanOrEqual(100);
    expect(looked).toBeLessThanOrEqual(20 + 10 * 10);
  });

  it('never counts found keys', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ perSecond: 1, burst: 1 }, time.now);
    for (let i = 0; i < 1000; i++) expect(budget.refusal()).toBeUndefined();
  });

  it('logs once per throttling period: only its first refusal carries a cause', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ perSecond: 1, burst: 1 }, time.now);
    budget.chargeUnknown();
    const first = budget.refusal();
    expect(first?.failure.reason).toBe('lookup_throttled');
    expect(String(first?.failure.cause)).toMatch(/unknownKeyLookups allows \(1\/s\)/);
    expect(budget.refusal()?.failure.cause).toBeUndefined();
    // Calm for 10 s: the period is over, and the next one is logged again.
    time.advance(10_000);
    expect(budget.refusal()).toBeUndefined();
    budget.chargeUnknown();
    expect(budget.refusal()?.failure.cause).toBeDefined();
  });

  it('logs a flood that goes on once, though every refill lets a lookup through', () => {
    const time = clock();
    const budget = new UnknownKeyBudget({ perSecond: 100, burst: 500 }, time.now);
    let causes = 0;
    let looked = 0;
    // 30 s of unknown keys, 20 every 10 ms (2,000/s against a budget of 100/s).
    for (let tick = 0; tick < 3000; tick++) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const refused = budget.refusal();
        if (refused === undefined) {
          looked++;
          budget.chargeUnknown();
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
    const budget = new UnknownKeyBudget({ perSecond: 10, burst: 10 }, time.now);
    for (let i = 0; i < 30; i++) budget.chargeUnknown();
    time.advance(1000);
    // 10 refilled, 20 still owed.
    expect(budget.refusal()).toBeDefined();
    time.advance(2000);
    expect(budget.refusal()).toBeUndefined();
  });
});

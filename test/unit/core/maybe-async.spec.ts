import { describe, expect, it } from '@jest/globals';
import { then } from '../../../lib/core/maybe-async.js';

describe('then', () => {
  it('continues a plain value at once, and creates no promise', () => {
    const seen: number[] = [];
    const result = then(2, (value) => {
      seen.push(value);
      return value * 10;
    });
    expect(result).toBe(20);
    expect(seen).toEqual([2]);
  });

  it('continues a promise once it settles, flattening a promise the continuation returns', async () => {
    const result = then(Promise.resolve(2), async (value) => value * 10);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(20);
  });

  it('hands a rejection to onRejected, never to the continuation', async () => {
    const continued: unknown[] = [];
    const result = then<number, string>(
      Promise.reject(new Error('store down')),
      (value) => `continued: ${continued.push(value)}`,
      (error) => `handled: ${(error as Error).message}`,
    );
    await expect(result).resolves.toBe('handled: store down');
    expect(continued).toEqual([]);
  });

  it('lets a throw of the continuation on a plain value reach the caller synchronously', () => {
    expect(() =>
      then(1, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });
});

import { describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { continueRequest } from '../../../lib/express/continue-request.js';

/** A response that is still open, or ended (a timeout answered first). */
const response = (ended = false) => ({ writableEnded: ended }) as ServerResponse;

/** A `next` that records what it was called with. */
function recordingNext() {
  const calls: unknown[][] = [];
  const next = (...args: unknown[]) => void calls.push(args);
  return { calls, next };
}

describe('continueRequest', () => {
  it('acts on a decision known now within the same call', () => {
    const { calls, next } = recordingNext();
    const seen: string[] = [];
    continueRequest('granted', response(), next, (decision, proceed) => {
      seen.push(decision);
      proceed();
    });
    expect(seen).toEqual(['granted']);
    expect(calls).toEqual([[]]);
  });

  it('acts on a decision that comes later, once it comes', async () => {
    const { calls, next } = recordingNext();
    continueRequest(Promise.resolve('granted'), response(), next, (_decision, proceed) => proceed());
    expect(calls).toEqual([]);
    await tick();
    expect(calls).toEqual([[]]);
  });

  it('sends what acting throws to next(error), now or later', async () => {
    const boom = new Error('errorFormat threw');
    const now = recordingNext();
    continueRequest('refused', response(), now.next, () => {
      throw boom;
    });
    expect(now.calls).toEqual([[boom]]);
    const later = recordingNext();
    continueRequest(Promise.resolve('refused'), response(), later.next, () => {
      throw boom;
    });
    await tick();
    expect(later.calls).toEqual([[boom]]);
  });

  it('sends a rejected decision to next(error), never leaving an unhandled rejection', async () => {
    const { calls, next } = recordingNext();
    const fault = new Error('lookup blew up');
    const acted: unknown[] = [];
    continueRequest(Promise.reject(fault), response(), next, (decision) => acted.push(decision));
    await tick();
    expect(calls).toEqual([[fault]]);
    expect(acted).toEqual([]);
  });

  it('calls next at most once, however often acting calls it', () => {
    const { calls, next } = recordingNext();
    continueRequest('granted', response(), next, (_decision, proceed) => {
      proceed();
      proceed(new Error('second'));
      throw new Error('third');
    });
    expect(calls).toEqual([[]]);
  });

  it('never continues a request whose response has ended', async () => {
    const { calls, next } = recordingNext();
    continueRequest(Promise.resolve('granted'), response(true), next, (_decision, proceed) => proceed());
    continueRequest(Promise.reject(new Error('late fault')), response(true), next, (_decision, proceed) => proceed());
    await tick();
    expect(calls).toEqual([]);
  });
});

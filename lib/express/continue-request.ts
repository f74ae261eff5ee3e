import type { ServerResponse } from 'node:http';
import { isPending, type MaybePromise } from '../core/maybe-async.js';
import type { NextFunction } from './http-types.js';

/**
 * Continues a request once a decision is known, which may be now or after a lookup. Whatever
 * goes wrong on the way (a custom `errorFormat` that throws, an answer that comes after the
 * response was sent) ends in `next(error)` or nowhere: never an unhandled rejection, never a
 * second `next` call.
 *
 * @param proceed acts on the decision; it calls the `next` it is given at most once
 */
export function continueRequest<T>(
  decision: MaybePromise<T>,
  response: ServerResponse,
  next: NextFunction,
  proceed: (decision: T, next: NextFunction) => void,
): void {
  let forwarded = false;
  const forward: NextFunction = (error?: unknown) => {
    if (forwarded) return;
    forwarded = true;
    // A decision that arrives once the response has ended: the request is over. Its handler
    // must not run, and there is nothing left to answer.
    if (response.writableEnded) return;
    next(error);
  };
  const settle = (value: T): void => {
    try {
      proceed(value, forward);
    } catch (error) {
      forward(error);
    }
  };
  // A decision known now (a key the cache holds) is acted on in this call: no promise.
  if (!isPending(decision)) settle(decision);
  // `settle` and `forward` catch what they call: this promise never rejects.
  else void decision.then(settle, forward);
}

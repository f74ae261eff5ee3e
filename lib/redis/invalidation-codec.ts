import type { InvalidationMessage } from '../core/fleet/invalidation-bus.js';

// Short field names: every replica reads every message. `v` lets a later version change the form.
interface Wire {
  v: 1;
  o: string;
  t: 'key' | 'record' | 'all';
  h?: string;
  r?: string;
}

/** The message as it is published on the channel (JSON). */
export function encodeInvalidation(message: InvalidationMessage): string {
  const wire: Wire = { v: 1, o: message.origin, t: message.type };
  if (message.type === 'key') wire.h = message.keyHash;
  if (message.type === 'record') wire.r = message.recordId;
  return JSON.stringify(wire);
}

/**
 * A message read off the channel. Anything this version cannot read (a newer sender's, or stray
 * text on the channel) becomes "forget everything": never a revoked key served from the cache.
 */
export function decodeInvalidation(text: string): InvalidationMessage {
  let wire: Partial<Wire> | null = null;
  try {
    wire = JSON.parse(text) as Partial<Wire> | null;
  } catch {
    // Stray text on the channel: handled below like any message we cannot read.
  }
  if (typeof wire !== 'object' || wire === null) return { type: 'all', origin: '' };
  const origin = typeof wire.o === 'string' ? wire.o : '';
  if (wire.v === 1 && wire.t === 'key' && typeof wire.h === 'string') return { type: 'key', keyHash: wire.h, origin };
  if (wire.v === 1 && wire.t === 'record' && typeof wire.r === 'string') {
    return { type: 'record', recordId: wire.r, origin };
  }
  return { type: 'all', origin };
}

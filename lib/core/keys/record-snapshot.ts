import type { ApiKeyRecord, Tenant } from './api-key-record.js';

// Deep enough for any real metadata; a deeper (or cyclic) structure is cut off here rather than
// overflowing the stack on a store's odd answer.
const MAX_DEPTH = 16;

/**
 * A frozen copy of plain data (objects and arrays, all the way down). Other objects (class
 * instances, `Date`s, `Map`s) are kept as they are: the record's owner decides what they are.
 */
function frozenCopy<T>(value: T, depth = 0): T {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return Object.freeze(value.map((item: unknown) => frozenCopy(item, depth + 1))) as T;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [field, item] of Object.entries(value)) copy[field] = frozenCopy(item, depth + 1);
  return Object.freeze(copy) as T;
}

/** A tenant that no request can change for another: a frozen copy. */
export function tenantSnapshot(tenant: Tenant): Tenant {
  return Object.isFrozen(tenant) ? tenant : frozenCopy(tenant);
}

/**
 * The record every request for a key receives: a frozen copy of what the store answered, made
 * once when the answer arrives (the cache then hands the same snapshot to every request).
 * A handler that sorts `tenants` in place or pushes onto `scopes` gets a `TypeError` instead of
 * changing the next request's default tenant or granting a scope to later requests.
 * `environment` is filled in from the key's prefix when the record does not state one.
 */
export function recordSnapshot(record: ApiKeyRecord, environment: string | undefined): ApiKeyRecord {
  const copy = frozenCopy({ ...record }) as ApiKeyRecord;
  if (environment === undefined || copy.environment !== undefined) return copy;
  return Object.freeze({ ...copy, environment });
}

import { checkDuration } from '../options/duration.js';
import { KeyringConfigError } from '../refusals/failure.js';
import { createBearerCheck, isSendableSecret, MAX_WEBHOOK_SECRET_LENGTH } from './webhook-bearer.js';
import type { WebhookCheck, WebhookRequest } from './webhook-request.js';
import {
  createSignatureCheck,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  MIN_SIGNING_KEY_BYTES,
  STANDARD_WEBHOOKS_SECRET_PREFIX,
} from './webhook-signature.js';

/** The name a route or a middleware uses when it names no secret. */
export const DEFAULT_WEBHOOK_SECRET_NAME = 'default';

/** Shortest shared webhook secret accepted: the Connexease Gateway's "minimum 32 characters". */
export const MIN_WEBHOOK_SECRET_LENGTH = 32;

/** One secret, or several while one is being rotated (every one listed is accepted). */
export type WebhookSecretList = string | readonly string[];

/** Secrets the sender puts in `Authorization: Bearer <secret>`: the same as a plain string or list. */
export interface BearerWebhookSecret {
  scheme: 'bearer';
  secrets: WebhookSecretList;
}

/**
 * Signing secrets of a sender that signs its webhooks with the Standard Webhooks scheme
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers).
 *
 * @example
 * { scheme: 'standard-webhooks', secrets: process.env.WEBHOOK_SIGNING_SECRET } // 'whsec_…'
 */
export interface StandardWebhookSecret {
  scheme: 'standard-webhooks';
  /**
   * `whsec_<base64>` secrets, each at least 24 random bytes. The `whsec_` prefix and the base64
   * `=` padding may both be left out; anything else that is not standard base64 fails the start-up.
   */
  secrets: WebhookSecretList;
  /**
   * How far `webhook-timestamp` may be from now, either way, before the delivery is refused
   * as a replay.
   * @default 300
   */
  toleranceSeconds?: number;
}

/**
 * How one sender's webhooks are checked. A string or a list means `Authorization: Bearer
 * <secret>` (the Connexease Gateway); the object forms name the scheme.
 */
export type WebhookSecretEntry = WebhookSecretList | BearerWebhookSecret | StandardWebhookSecret;

/**
 * The `webhookSecrets` option: secret name -> secret(s). `default` is used where no name is given.
 *
 * @example
 * {
 *   default: process.env.CONNEXEASE_WEBHOOK_SECRET,                     // Authorization: Bearer
 *   billing: [process.env.BILLING_SECRET_OLD, process.env.BILLING_SECRET_NEW], // rotation
 *   events: { scheme: 'standard-webhooks', secrets: process.env.EVENTS_SIGNING_SECRET }, // whsec_…
 * }
 */
export type WebhookSecrets = Readonly<Record<string, WebhookSecretEntry>>;

/**
 * A configured sender, ready to check requests. It holds digests or decoded keys, never the
 * secrets as strings, so logging the options cannot print one.
 */
export interface ResolvedWebhookSecret {
  readonly name: string;
  readonly scheme: 'bearer' | 'standard-webhooks';
  /** Checks a request; `nowMs` is the current time (`Date.now()`), for signature timestamps. */
  readonly verify: (request: WebhookRequest, nowMs: number) => WebhookCheck;
}

/** What messages and documents say of a sender's secret: its name and scheme, never the secret. */
export type WebhookSecretName = Pick<ResolvedWebhookSecret, 'name' | 'scheme'>;

/** Every configured sender, by name. */
export type ResolvedWebhookSecrets = ReadonlyMap<string, ResolvedWebhookSecret>;

// Standard base64 (RFC 4648 §4), not base64url; the `=` padding is checked apart.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// What to do about a secret that is not there; it usually comes from an unset variable.
const SET_A_SECRET =
  `set it to a random secret of at least ${MIN_WEBHOOK_SECRET_LENGTH} characters ` +
  `(is the environment variable that holds it set?).`;

/** The secrets of one entry as a non-empty list of strings; messages never print a secret. */
function secretList(value: unknown, path: string): { secret: string; where: string }[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) {
    throw new KeyringConfigError(`\`${path}\` is an empty list: give at least one secret (two while rotating).`);
  }
  return list.map((secret, index) => {
    const where = Array.isArray(value) ? `${path}[${index}]` : path;
    if (secret === undefined || secret === null) {
      throw new KeyringConfigError(`\`${where}\` is ${String(secret)}: ${SET_A_SECRET}`);
    }
    if (typeof secret !== 'string') {
      throw new KeyringConfigError(`\`${where}\` must be a string; got ${typeof secret}.`);
    }
    if (secret.length === 0) {
      throw new KeyringConfigError(`\`${where}\` is empty: ${SET_A_SECRET}`);
    }
    return { secret, where };
  });
}

function refuseRepeated(secret: string, where: string): void {
  if ([...secret].every((character) => character === secret[0])) {
    throw new KeyringConfigError(
      `\`${where}\` is one character repeated: use a random secret (e.g. \`openssl rand -base64 32\`).`,
    );
  }
}

/** A shared secret for `Authorization: Bearer`: long enough, random-looking, sendable. */
function checkBearerSecret(secret: string, where: string): void {
  if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
    throw new KeyringConfigError(
      `\`${where}\` is ${secret.length} characters long; ` +
        `a webhook secret needs at least ${MIN_WEBHOOK_SECRET_LENGTH} random characters ` +
        `(e.g. \`openssl rand -base64 32\`). ` +
        `Set the same secret at the sender.`,
    );
  }
  if (secret.length > MAX_WEBHOOK_SECRET_LENGTH) {
    throw new KeyringConfigError(
      `\`${where}\` is ${secret.length} characters long; the most accepted is ${MAX_WEBHOOK_SECRET_LENGTH}.`,
    );
  }
  refuseRepeated(secret, where);
  if (!isSendableSecret(secret)) {
    throw new KeyringConfigError(
      `\`${where}\` contains a space, a control or a non-ASCII character, ` +
        `which cannot arrive unchanged in \`Authorization: Bearer <secret>\`. ` +
        `Use letters, digits and punctuation only.`,
    );
  }
}

function notBase64(where: string): KeyringConfigError {
  return new KeyringConfigError(
    `\`${where}\` is not a Standard Webhooks secret: expected \`whsec_\` followed by base64 (A-Z, a-z, 0-9, + and /, ` +
      `then up to two \`=\`, which may be left out), as the sender shows it.`,
  );
}

/**
 * The base64 part of a signing secret, with its `=` padding: senders show it with or without
 * it (the Python library re-pads; Go, Rust and C# do not), and both forms are the same key.
 */
function paddedBase64(secret: string, where: string): string {
  const encoded = secret.startsWith(STANDARD_WEBHOOKS_SECRET_PREFIX)
    ? secret.slice(STANDARD_WEBHOOKS_SECRET_PREFIX.length)
    : secret;
  if (!BASE64.test(encoded)) throw notBase64(where);
  const digits = encoded.replace(/=+$/, '');
  if (digits.length % 4 === 1) {
    throw new KeyringConfigError(
      `\`${where}\` has ${digits.length} base64 characters, a length no base64 has (4n + 1): ` +
        `was a character lost or added when it was copied?`,
    );
  }
  const padded = digits.padEnd(Math.ceil(digits.length / 4) * 4, '=');
  // The padding may be left out, but where it is given it must be the right one.
  if (encoded !== digits && encoded !== padded) throw notBase64(where);
  return padded;
}

/** A Standard Webhooks signing secret (`whsec_<base64>`, padded or not), decoded to its key bytes. */
function signingKey(secret: string, where: string): Uint8Array {
  const encoded = paddedBase64(secret, where);
  const key = Buffer.from(encoded, 'base64');
  if (key.toString('base64') !== encoded) {
    throw new KeyringConfigError(
      `\`${where}\` does not end as base64 does (its last character carries bits no encoder sets): ` +
        `was it copied in full?`,
    );
  }
  refuseRepeated(encoded.replace(/=+$/, ''), where);
  if (key.length < MIN_SIGNING_KEY_BYTES) {
    throw new KeyringConfigError(
      `\`${where}\` decodes to ${key.length} bytes; a signing secret needs at least ${MIN_SIGNING_KEY_BYTES} random ` +
        `bytes (\`whsec_\` and ${Math.ceil(MIN_SIGNING_KEY_BYTES / 3) * 4} base64 characters).`,
    );
  }
  if (key.every((byte) => byte === key[0])) {
    throw new KeyringConfigError(`\`${where}\` is one byte repeated: use the random secret the sender generated.`);
  }
  return key;
}

function bearerEntry(name: string, value: unknown, path: string): ResolvedWebhookSecret {
  const secrets = secretList(value, path);
  for (const { secret, where } of secrets) checkBearerSecret(secret, where);
  return { name, scheme: 'bearer', verify: createBearerCheck(secrets.map(({ secret }) => secret)) };
}

function resolveEntry(name: string, entry: unknown, path: string): ResolvedWebhookSecret {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return bearerEntry(name, entry, path);
  const { scheme, secrets, toleranceSeconds } = entry as Record<string, unknown>;
  const secretsPath = `${path}.secrets`;
  if (scheme === 'bearer') {
    if (toleranceSeconds !== undefined) {
      throw new KeyringConfigError(
        `\`${path}.toleranceSeconds\` only applies to \`scheme: 'standard-webhooks'\`; remove it.`,
      );
    }
    return bearerEntry(name, secrets, secretsPath);
  }
  if (scheme === 'standard-webhooks') {
    const keys = secretList(secrets, secretsPath).map(({ secret, where }) => signingKey(secret, where));
    const tolerance =
      toleranceSeconds === undefined
        ? DEFAULT_WEBHOOK_TOLERANCE_SECONDS
        : checkDuration(`${path}.toleranceSeconds`, toleranceSeconds, { positive: true, whole: true, seconds: true });
    return { name, scheme, verify: createSignatureCheck(keys, tolerance) };
  }
  throw new KeyringConfigError(
    `\`${path}.scheme\` must be 'bearer' or 'standard-webhooks'; got ${JSON.stringify(scheme)}. ` +
      `Or give the secret as a string (or a list) for \`Authorization: Bearer <secret>\`.`,
  );
}

/**
 * Checks the `webhookSecrets` option once, at start-up, and prepares each sender's check.
 * A secret shorter than 32 characters, empty, made of one repeated character or unable to travel
 * in a header is refused with a message that names the option (never the secret) and says what
 * to change.
 *
 * @returns `undefined` when no secrets are configured
 * @throws KeyringConfigError
 */
export function resolveWebhookSecrets(secrets: WebhookSecrets | undefined): ResolvedWebhookSecrets | undefined {
  if (secrets === undefined) return undefined;
  if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) {
    throw new KeyringConfigError(
      '`webhookSecrets` must map a name to a secret, e.g. { default: process.env.WEBHOOK_SECRET }.',
    );
  }
  const resolved = new Map<string, ResolvedWebhookSecret>();
  for (const [name, entry] of Object.entries(secrets)) {
    resolved.set(name, resolveEntry(name, entry, `webhookSecrets.${name}`));
  }
  return resolved;
}

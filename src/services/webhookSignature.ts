// Standard Webhooks signing (https://www.standardwebhooks.com/, symmetric scheme `v1`):
// - the secret is shown to users as `whsec_<base64 of 24–64 random bytes>`; the HMAC key is those bytes;
// - the signed content is `${webhook-id}.${webhook-timestamp}.${body}` (the exact bytes sent);
// - `webhook-signature: v1,<base64 HMAC-SHA256(key, content)>`, `webhook-timestamp` in unix seconds.
// The spec's reference libraries agree on this test vector (tests/workers/webhook-delivery.test.ts):
// key whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330,
// body {"test": 2432232314} → v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
const GENERATED_SECRET_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A new secret in the Standard Webhooks form. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(GENERATED_SECRET_BYTES).toString('base64')}`;
}

export type ParsedSecret = { ok: true; key: Buffer } | { ok: false; reason: string };

/** Checks a user-supplied secret: `whsec_` then canonical standard base64 (padding optional) of 24–64 bytes. */
export function parseSecret(secret: string): ParsedSecret {
  if (!secret.startsWith(SECRET_PREFIX)) return { ok: false, reason: `must start with '${SECRET_PREFIX}' followed by base64 (Standard Webhooks secret)` };
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return { ok: false, reason: `must be '${SECRET_PREFIX}' followed by standard base64 (A-Z a-z 0-9 + /, optional = padding)` };
  const key = Buffer.from(encoded, 'base64');
  // Buffer's decoder is lenient (it ignores stray bits and misplaced padding); insist on the canonical form.
  if (key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    return { ok: false, reason: 'is not canonical base64' };
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return { ok: false, reason: `must encode ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, got ${key.length}` };
  }
  return { ok: true, key };
}

/** The HMAC key of a stored secret (stored secrets were validated or generated, so they parse). */
export function secretKey(secret: string): Buffer {
  const parsed = parseSecret(secret);
  if (!parsed.ok) throw new Error(`stored webhook secret is invalid: ${parsed.reason}`);
  return parsed.key;
}

/** `v1,<base64 HMAC-SHA256>` of `${msgId}.${timestampSeconds}.${body}`. */
export function sign(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${msgId}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for one attempt. */
export function signatureHeaders(secret: string, msgId: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': sign(secret, msgId, timestampSeconds, body),
  };
}

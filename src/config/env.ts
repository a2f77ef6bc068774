// Tiny typed readers for environment variables. Each returns the parsed value or a reason string,
// so the caller can report every invalid variable at once instead of stopping at the first.
import { isIP } from 'node:net';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (reason: string): Parsed<never> => ({ ok: false, reason });

export function integer(raw: string, min: number, max: number): Parsed<number> {
  if (!/^-?\d+$/.test(raw.trim())) return bad(`must be an integer, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) return bad(`must be between ${min} and ${max}, got ${n}`);
  return ok(n);
}

export function oneOf<T extends string>(raw: string, allowed: readonly T[]): Parsed<T> {
  return (allowed as readonly string[]).includes(raw)
    ? ok(raw as T)
    : bad(`must be one of ${allowed.join(', ')}, got '${raw}'`);
}

export function url(raw: string, protocols: readonly string[]): Parsed<string> {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return bad(`must be a URL, got '${redact(raw)}'`);
  }
  if (!protocols.includes(parsed.protocol)) {
    return bad(`must use ${protocols.join(' or ')}, got '${parsed.protocol}'`);
  }
  if (!parsed.hostname) return bad('must name a host');
  return ok(raw);
}

export function nonEmpty(raw: string): Parsed<string> {
  return raw.trim() === '' ? bad('must not be empty') : ok(raw);
}

export function boolean(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return ok(true);
  if (['0', 'false', 'no', 'off'].includes(v)) return ok(false);
  return bad(`must be true or false, got '${raw}'`);
}

export type TrustProxy = boolean | number | string[];
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Which proxies' X-Forwarded-For the API believes (Fastify's trustProxy): false (the socket address is
 * the client), true (any), a hop count, or addresses/CIDR ranges (and proxy-addr's names loopback,
 * linklocal, uniquelocal), comma-separated. Checked here so a typo fails at start with its reason.
 */
export function trustProxy(raw: string): Parsed<TrustProxy> {
  const v = raw.trim();
  // Digits are a hop count (0: none trusted), before boolean() would read 1 as "trust everyone".
  if (/^\d+$/.test(v)) return Number(v) === 0 ? ok(false) : integer(v, 1, 32);
  const asBoolean = boolean(v);
  if (asBoolean.ok) return asBoolean;
  const entries = v.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (PROXY_RANGE_NAMES.includes(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix))) {
      return bad(`must be true, false, a hop count or comma-separated IP addresses/CIDR ranges (or ${PROXY_RANGE_NAMES.join(', ')}); '${entry}' is none of them`);
    }
  }
  return ok(entries);
}

/** Sizes like `10mb`, `512KiB` or plain bytes; binary multiples (1 mb = 2^20 bytes). */
export function byteSize(raw: string, min: number, max: number): Parsed<number> {
  const m = /^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(raw);
  if (!m) return bad(`must be a size like 1048576, 512kb or 10mb, got '${raw}'`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 2 ** 10 : unit.startsWith('m') ? 2 ** 20 : unit.startsWith('g') ? 2 ** 30 : 1;
  const n = Number(m[1]) * factor;
  if (n < min || n > max) return bad(`must be between ${min} and ${max} bytes, got ${n}`);
  return ok(n);
}

/** Hides the password of a connection URL so it never reaches a log or an error message. */
export function redact(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

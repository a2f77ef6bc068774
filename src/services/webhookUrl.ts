// Which URLs a webhook may call (server-side request forgery guard). A URL must be http(s) without
// credentials, and every address its host resolves to must be public: private, loopback, link-local,
// shared (CGNAT), documentation, benchmarking and other special ranges are refused, also in their
// IPv4-mapped, NAT64 and 6to4 IPv6 forms. `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) lifts the internal
// ranges for development and tests; unspecified, multicast, broadcast/reserved and cloud metadata
// addresses are refused always. The check runs when a webhook is created and again before every
// delivery, and the delivery connects to the address that was checked (no DNS rebinding window).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** All addresses of a host name (tests inject their own). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** A slow resolver must not hold a request (or a delivery slot) for the system's full DNS timeout. */
const RESOLVE_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup timed out after ${ms} ms`), { code: 'ETIMEOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `internal`: refused unless private targets are allowed; `never`: refused always. */
type Kind = 'internal' | 'never';

interface Range {
  base: bigint;
  bits: number;
  label: string;
  kind: Kind;
}

function parseIPv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseIPv6(input: string): bigint | null {
  let s = input.replace(/^\[|\]$/g, '');
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail: bigint[] = [];
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]!);
    if (v4 === null) return null;
    tail = [v4 >> 16n, v4 & 0xffffn];
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): bigint[] | null => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return null;
  const given = [...head, ...rest, ...tail];
  let all: bigint[];
  if (halves.length === 2) {
    if (given.length > 7) return null;
    all = [...head, ...Array<bigint>(8 - given.length).fill(0n), ...rest, ...tail];
  } else {
    if (given.length !== 8) return null;
    all = given;
  }
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

const v4 = (cidr: string, label: string, kind: Kind = 'internal'): Range => {
  const [ip, bits] = cidr.split('/');
  return { base: parseIPv4(ip!)!, bits: Number(bits), label: `${label} (${cidr})`, kind };
};
const v6 = (cidr: string, label: string, kind: Kind = 'internal'): Range => {
  const [ip, bits] = cidr.split('/');
  return { base: parseIPv6(ip!)!, bits: Number(bits), label: `${label} (${cidr})`, kind };
};

// Most specific first: the first match names the range.
const IPV4_RANGES: Range[] = [
  v4('169.254.169.254/32', 'a cloud metadata address', 'never'),
  v4('0.0.0.0/8', 'an unspecified ("this network") address', 'never'),
  v4('10.0.0.0/8', 'a private address'),
  v4('100.64.0.0/10', 'a shared (carrier-grade NAT) address'),
  v4('127.0.0.0/8', 'a loopback address'),
  v4('169.254.0.0/16', 'a link-local address'),
  v4('172.16.0.0/12', 'a private address'),
  v4('192.0.0.0/24', 'an IETF protocol assignment address'),
  v4('192.0.2.0/24', 'a documentation address'),
  v4('192.88.99.0/24', 'a 6to4 relay anycast address'),
  v4('192.168.0.0/16', 'a private address'),
  v4('198.18.0.0/15', 'a benchmarking address'),
  v4('198.51.100.0/24', 'a documentation address'),
  v4('203.0.113.0/24', 'a documentation address'),
  v4('224.0.0.0/4', 'a multicast address', 'never'),
  v4('240.0.0.0/4', 'a reserved or broadcast address', 'never'),
];

const IPV6_RANGES: Range[] = [
  v6('::/128', 'the unspecified address', 'never'),
  v6('::1/128', 'the loopback address'),
  v6('fd00:ec2::254/128', 'a cloud metadata address', 'never'),
  v6('::/96', 'an IPv4-compatible address (deprecated)', 'never'),
  v6('64:ff9b:1::/48', 'a local-use NAT64 address'),
  v6('100::/64', 'a discard-only address'),
  v6('2001::/32', 'a Teredo tunnelling address'),
  v6('2001:db8::/32', 'a documentation address'),
  v6('fc00::/7', 'a unique local (private) address'),
  v6('fe80::/10', 'a link-local address'),
  v6('fec0::/10', 'a site-local address (deprecated)'),
  v6('ff00::/8', 'a multicast address', 'never'),
];

// IPv6 ranges that embed an IPv4 address: the embedded address is judged by the IPv4 rules.
const EMBEDDING: { range: Range; extract: (n: bigint) => bigint }[] = [
  { range: v6('::ffff:0:0/96', 'IPv4-mapped'), extract: (n) => n & 0xffffffffn },
  { range: v6('64:ff9b::/96', 'NAT64'), extract: (n) => n & 0xffffffffn },
  { range: v6('2002::/16', '6to4'), extract: (n) => (n >> 80n) & 0xffffffffn },
];

const inRange = (n: bigint, r: Range, width: number): boolean => n >> BigInt(width - r.bits) === r.base >> BigInt(width - r.bits);

export interface AddressVerdict {
  allowed: boolean;
  /** Why it is refused (or would be without allowPrivate), e.g. `a private address (10.0.0.0/8)`. */
  reason?: string;
}

function judge(n: bigint, ranges: Range[], width: number, allowPrivate: boolean, via = ''): AddressVerdict {
  const hit = ranges.find((r) => inRange(n, r, width));
  if (!hit) return { allowed: true };
  return { allowed: hit.kind === 'internal' && allowPrivate, reason: `${via}${hit.label}` };
}

function ipv4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
}

/** Whether a webhook may connect to this IP address. */
export function checkAddress(address: string, allowPrivate: boolean): AddressVerdict {
  const family = isIP(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  if (family === 4) {
    const n = parseIPv4(address);
    return n === null ? { allowed: false, reason: 'not an IP address' } : judge(n, IPV4_RANGES, 32, allowPrivate);
  }
  if (family === 6) {
    const n = parseIPv6(address);
    if (n === null) return { allowed: false, reason: 'not an IP address' };
    for (const { range, extract } of EMBEDDING) {
      if (inRange(n, range, 128)) {
        const inner = extract(n);
        return judge(inner, IPV4_RANGES, 32, allowPrivate, `the ${range.label.split(' ')[0]} IPv6 form of ${ipv4Text(inner)}, `);
      }
    }
    return judge(n, IPV6_RANGES, 128, allowPrivate);
  }
  return { allowed: false, reason: 'not an IP address' };
}

export type UrlSyntax = { ok: true; url: URL } | { ok: false; reason: string };

/** The checks that need no network: scheme, credentials, host. */
export function parseWebhookUrl(raw: string): UrlSyntax {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `must use http: or https:, got '${url.protocol}'` };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials (user:password@); authenticate deliveries with the signature' };
  if (!url.hostname) return { ok: false, reason: 'must name a host' };
  return { ok: true, url };
}

/** The host part as net/dns want it (brackets of an IPv6 literal removed). */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

export type AddressCheck = { ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string; transient: boolean };

/**
 * Resolves the URL's host and checks every address (one bad address refuses the URL, so a name that
 * also points inside cannot be used to reach it). `transient` marks DNS failures worth retrying.
 */
export async function resolveWebhookHost(url: URL, options: { allowPrivate: boolean; resolve: Resolver }): Promise<AddressCheck> {
  const host = bareHost(url);
  let addresses: ResolvedAddress[];
  const literal = isIP(host);
  if (literal) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await withTimeout(options.resolve(host), RESOLVE_TIMEOUT_MS);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const notFound = code === 'ENOTFOUND' || code === 'ENODATA';
      return { ok: false, reason: notFound ? `host '${host}' does not resolve` : `host '${host}' could not be resolved (${code ?? 'DNS error'})`, transient: !notFound };
    }
    if (addresses.length === 0) return { ok: false, reason: `host '${host}' does not resolve`, transient: false };
  }
  for (const a of addresses) {
    const verdict = checkAddress(a.address, options.allowPrivate);
    if (!verdict.allowed) {
      const shown = literal ? `${a.address} is` : `host '${host}' resolves to ${a.address},`;
      return { ok: false, reason: `${shown} ${verdict.reason}; webhooks may only call public addresses`, transient: false };
    }
  }
  return { ok: true, addresses };
}

// API keys: `qat_<prefix>_<secret>`. The prefix (public, unique) finds the row; only the SHA-256 of
// the secret is stored and it is compared in constant time. A key is shown once, at creation.
//
// Verified keys are cached in process for a short time (AUTH_CACHE_TTL_MS, default 2 s, at most 10 s;
// 0 = off), keyed by the prefix and the SHA-256 of the presented secret, so a client polling a job does
// not cost one database lookup per request. Only successful verifications are cached (a wrong secret
// never matches an entry: its hash differs). A key revoked through this process is dropped from the
// cache at once; one revoked through another API process stops working there within the TTL. The cache
// holds at most 10,000 keys (the oldest entry is evicted first).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRepository, StoredApiKey } from '../db/apiKeyRepository.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../errors/index.js';

const KEY_PATTERN = /^qat_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const TENANT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
// lastUsedAt is informative; writing it on every request would turn each read into a write.
const TOUCH_INTERVAL_MS = 60_000;
const CACHE_MAX_ENTRIES = 10_000;
export const DEFAULT_AUTH_CACHE_TTL_MS = 2_000;

export interface ApiKeyServiceOptions {
  /** How long a verified key is trusted without asking the database again (ms); 0 turns the cache off. */
  cacheTtlMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

interface CachedKey {
  principal: Principal;
  expiresAt: number;
}

export interface Principal {
  tenantId: string;
  keyId: string;
}

export interface ApiKeyView {
  id: string;
  prefix: string;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedKey extends ApiKeyView {
  /** The full key: returned once, never stored. */
  key: string;
  tenantId: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function newKeyMaterial(): { key: string; prefix: string; secretHash: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `qat_${prefix}_${secret}`, prefix, secretHash: sha256(secret) };
}

function parseBearer(authorization: string | undefined): { prefix: string; secret: string } | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const parts = match ? KEY_PATTERN.exec(match[1]!) : null;
  return parts ? { prefix: parts[1]!, secret: parts[2]! } : null;
}

const view = (k: StoredApiKey): ApiKeyView => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

export class ApiKeyService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly cacheTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly repo: ApiKeyRepository,
    options: ApiKeyServiceOptions = {},
  ) {
    this.cacheTtlMs = Math.max(0, options.cacheTtlMs ?? DEFAULT_AUTH_CACHE_TTL_MS);
    this.now = options.now ?? Date.now;
  }

  /** For operators (`qat keys create --tenant NAME`): creates the tenant on first use. */
  async createForTenantName(tenantName: string, name: string | null = null): Promise<CreatedKey & { tenantName: string }> {
    if (!TENANT_PATTERN.test(tenantName)) {
      throw new ValidationError([{ field: 'tenant', reason: 'must be 1-63 characters of a-z 0-9 . _ - starting with a letter or digit' }]);
    }
    const material = newKeyMaterial();
    const stored = await this.repo.createKey({ tenantName, prefix: material.prefix, secretHash: material.secretHash, name });
    return { ...view(stored), key: material.key, tenantId: stored.tenantId, tenantName: stored.tenantName };
  }

  /** For an authenticated tenant rotating its own keys. */
  async create(principal: Principal, name: string | null): Promise<CreatedKey> {
    const material = newKeyMaterial();
    const stored = await this.repo.createKeyForTenant({ tenantId: principal.tenantId, prefix: material.prefix, secretHash: material.secretHash, name });
    return { ...view(stored), key: material.key, tenantId: stored.tenantId };
  }

  async list(principal: Principal): Promise<ApiKeyView[]> {
    return (await this.repo.listForTenant(principal.tenantId)).map(view);
  }

  async revoke(principal: Principal, id: string): Promise<void> {
    const revoked = await this.repo.revoke(principal.tenantId, id);
    this.forget(id);
    if (!revoked) throw new NotFoundError('api key', id);
  }

  /** Drops a key from this process's cache of verified keys (after it was revoked). */
  forget(keyId: string): void {
    for (const [k, v] of this.cache) if (v.principal.keyId === keyId) this.cache.delete(k);
  }

  /** The principal of a key verified within the cache TTL (no database access), else undefined. */
  cached(authorization: string | undefined): Principal | undefined {
    if (this.cacheTtlMs === 0) return undefined;
    const parts = parseBearer(authorization);
    return parts ? this.cachedEntry(parts.prefix, sha256(parts.secret)) : undefined;
  }

  private cachedEntry(prefix: string, secretHash: string): Principal | undefined {
    const cacheKey = `${prefix}:${secretHash}`;
    const hit = this.cache.get(cacheKey);
    if (!hit) return undefined;
    if (hit.expiresAt > this.now()) return hit.principal;
    this.cache.delete(cacheKey);
    return undefined;
  }

  /** Resolves `Authorization: Bearer <key>`; every failure is the same 401 so keys cannot be probed. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const parts = parseBearer(authorization);
    if (!parts) throw new UnauthorizedError('missing or malformed bearer token: send Authorization: Bearer <api key>');
    const givenHash = sha256(parts.secret);
    const cacheKey = `${parts.prefix}:${givenHash}`;
    const cached = this.cacheTtlMs > 0 ? this.cachedEntry(parts.prefix, givenHash) : undefined;
    if (cached) return cached;
    const stored = await this.repo.findByPrefix(parts.prefix);
    const given = Buffer.from(givenHash, 'hex');
    // Compare against a dummy hash when the prefix is unknown so both paths cost the same.
    const expected = Buffer.from(stored?.secretHash ?? sha256('no-such-key'), 'hex');
    if (!stored || !timingSafeEqual(given, expected) || stored.revokedAt) {
      throw new UnauthorizedError('invalid or revoked API key');
    }
    const now = new Date();
    if (!stored.lastUsedAt || now.getTime() - stored.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.repo.touch(stored.id, now);
    }
    const principal: Principal = { tenantId: stored.tenantId, keyId: stored.id };
    if (this.cacheTtlMs > 0) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(cacheKey, { principal, expiresAt: this.now() + this.cacheTtlMs });
    }
    return principal;
  }
}

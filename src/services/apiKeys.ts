// API keys: `qat_<prefix>_<secret>`. The prefix (public, unique) finds the row; only the SHA-256 of
// the secret is stored and it is compared in constant time. A key is shown once, at creation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRepository, StoredApiKey } from '../db/apiKeyRepository.js';
import { NotFoundError, UnauthorizedError, ValidationError } from '../errors/index.js';

const KEY_PATTERN = /^qat_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const TENANT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
// lastUsedAt is informative; writing it on every request would turn each read into a write.
const TOUCH_INTERVAL_MS = 60_000;

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

const view = (k: StoredApiKey): ApiKeyView => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

export class ApiKeyService {
  constructor(private readonly repo: ApiKeyRepository) {}

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
    if (!(await this.repo.revoke(principal.tenantId, id))) throw new NotFoundError('api key', id);
  }

  /** Resolves `Authorization: Bearer <key>`; every failure is the same 401 so keys cannot be probed. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const parts = match ? KEY_PATTERN.exec(match[1]!) : null;
    if (!parts) throw new UnauthorizedError('missing or malformed bearer token: send Authorization: Bearer <api key>');
    const stored = await this.repo.findByPrefix(parts[1]!);
    const given = Buffer.from(sha256(parts[2]!), 'hex');
    // Compare against a dummy hash when the prefix is unknown so both paths cost the same.
    const expected = Buffer.from(stored?.secretHash ?? sha256('no-such-key'), 'hex');
    if (!stored || !timingSafeEqual(given, expected) || stored.revokedAt) {
      throw new UnauthorizedError('invalid or revoked API key');
    }
    const now = new Date();
    if (!stored.lastUsedAt || now.getTime() - stored.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.repo.touch(stored.id, now);
    }
    return { tenantId: stored.tenantId, keyId: stored.id };
  }
}

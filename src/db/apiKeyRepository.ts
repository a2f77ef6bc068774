// Tenants and their API keys. Secrets never reach this layer: only their SHA-256.
import type { Db } from './client.js';

export interface StoredApiKey {
  id: string;
  tenantId: string;
  prefix: string;
  secretHash: string;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiKeyRepository {
  /** Creates the tenant if it does not exist yet, then the key, in one transaction. */
  createKey(input: { tenantName: string; prefix: string; secretHash: string; name: string | null }): Promise<StoredApiKey & { tenantName: string }>;
  createKeyForTenant(input: { tenantId: string; prefix: string; secretHash: string; name: string | null }): Promise<StoredApiKey>;
  findByPrefix(prefix: string): Promise<StoredApiKey | null>;
  listForTenant(tenantId: string): Promise<StoredApiKey[]>;
  /** Marks the key revoked; false when the tenant has no such live key. */
  revoke(tenantId: string, id: string): Promise<boolean>;
  touch(id: string, at: Date): Promise<void>;
}

export function apiKeyRepository(db: Db): ApiKeyRepository {
  return {
    async createKey({ tenantName, prefix, secretHash, name }) {
      return db.$transaction(async (tx) => {
        const tenant = await tx.tenant.upsert({ where: { name: tenantName }, create: { name: tenantName }, update: {} });
        const key = await tx.apiKey.create({ data: { tenantId: tenant.id, prefix, secretHash, name } });
        return { ...key, tenantName: tenant.name };
      });
    },
    createKeyForTenant: (data) => db.apiKey.create({ data }),
    findByPrefix: (prefix) => db.apiKey.findUnique({ where: { prefix } }),
    listForTenant: (tenantId) => db.apiKey.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } }),
    async revoke(tenantId, id) {
      const { count } = await db.apiKey.updateMany({ where: { id, tenantId, revokedAt: null }, data: { revokedAt: new Date() } });
      return count === 1;
    },
    async touch(id, at) {
      await db.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
    },
  };
}

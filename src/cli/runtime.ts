// Composition of the long-running processes: builds the real dependencies (Prisma, Redis, the blob
// store, services) from one Config. Tests use these same functions, so they run the production wiring.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ApiDeps } from '../api/deps.js';
import { type Config, parseConfig } from '../config/index.js';
import { apiKeyRepository } from '../db/apiKeyRepository.js';
import { createDb, type Db } from '../db/client.js';
import { ConfigError } from '../errors/index.js';
import { closeRedis, createRedis } from '../queue/connection.js';
import { ApiKeyService } from '../services/apiKeys.js';
import { ReadinessService } from '../services/readiness.js';
import { LocalDiskStore } from '../storage/localDiskStore.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The process's configuration, or a ConfigError naming every invalid variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const result = parseConfig(env);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}

export interface ApiRuntime {
  deps: ApiDeps;
  db: Db;
  /** Closes Redis and Prisma; safe to call twice. */
  close(): Promise<void>;
}

export function createApiRuntime(config: Config, logger?: Logger): ApiRuntime {
  const db = createDb(config.databaseUrl);
  const redis = createRedis(config.redisUrl, {
    role: 'producer',
    connectTimeoutMs: config.readinessTimeoutMs,
    onError: (err) => logger?.warn({ err: err.message }, 'redis connection error'),
  });
  const store = new LocalDiskStore(config.dataDir);
  const deps: ApiDeps = {
    config,
    version: VERSION,
    readiness: new ReadinessService({ db, redis, store, timeoutMs: config.readinessTimeoutMs }),
    apiKeys: new ApiKeyService(apiKeyRepository(db)),
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    db,
    close: () => (closing ??= Promise.all([closeRedis(redis), db.$disconnect()]).then(() => undefined)),
  };
}

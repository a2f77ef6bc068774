// Builds the production app with the production wiring, against the test database and Redis.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../src/api/deps.js';
import { buildServer } from '../../src/api/app.js';
import { createApiRuntime } from '../../src/cli/runtime.js';
import type { Config } from '../../src/config/index.js';
import { testConfig } from './env.js';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  /** The services behind the app (e.g. to emit webhook events the way the job lifecycle does). */
  deps: ApiDeps;
  close(): Promise<void>;
}

export async function buildTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = testConfig(env);
  const runtime = createApiRuntime(config);
  const app = await buildServer(runtime.deps, { logger: false });
  app.addHook('onClose', async () => runtime.close());
  await app.ready();
  return { app, config, deps: runtime.deps, close: () => app.close() };
}

/** Creates a tenant with a key through the same service `qat keys create` uses. */
export async function createKey(tenant: string): Promise<string> {
  const { createDb } = await import('../../src/db/client.js');
  const { apiKeyRepository } = await import('../../src/db/apiKeyRepository.js');
  const { ApiKeyService } = await import('../../src/services/apiKeys.js');
  const { TEST_DATABASE_URL } = await import('./env.js');
  const db = createDb(TEST_DATABASE_URL, { poolSize: 1 });
  try {
    return (await new ApiKeyService(apiKeyRepository(db)).createForTenantName(tenant)).key;
  } finally {
    await db.$disconnect();
  }
}

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

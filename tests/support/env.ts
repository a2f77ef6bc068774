// Where tests find Postgres and Redis: the machine's local servers unless TEST_* variables say otherwise.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, parseConfig } from '../../src/config/index.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/qat_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_DATABASE_URL = withDatabase(TEST_DATABASE_URL, 'postgres');

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function tempDir(prefix = 'qat-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A valid Config for tests: test database, local Redis, a fresh data directory, quiet logs. */
export function testConfig(env: Record<string, string> = {}): Config {
  const result = parseConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    DATA_DIR: tempDir(),
    LOG_LEVEL: 'silent',
    READINESS_TIMEOUT_MS: '1000',
    // The limiter runs on every /v1 request, but only tests/api/rate-limit.test.ts sets a budget it can reach.
    RATE_LIMIT_MAX: '1000000',
    ...env,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

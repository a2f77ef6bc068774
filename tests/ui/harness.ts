// What the browser tests run against: the production app listening on a real port (test Postgres, local
// Redis under a unique queue prefix) with an in-process worker on the WASM backend, as
// tests/workers/train-job.test.ts does; and Debian's Chromium driven by playwright-core.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { workerTraining } from '../../src/cli/workerRuntime.js';
import { createDb, type Db } from '../../src/db/client.js';
import { type RunningWorker, startWorkerProcess } from '../../src/workers/workerProcess.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useBackend } from '../support/backends.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { dropQueueKeys } from '../support/queues.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/ui/', import.meta.url));

// No network beyond what a test serves itself: no updates, no sync, no QUIC, no component downloads.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Launches Chromium; a missing browser is an error with the fix, never a skipped test. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium package. ` +
        'Run `bash scripts/setup.sh` as root (it installs it), or `apt-get install -y chromium`, or set CHROMIUM_PATH.',
    );
  }
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

export interface Stack {
  t: TestApp;
  baseUrl: string;
  close(): Promise<void>;
}

/** The API on 127.0.0.1:<free port> plus a worker consuming its training and shard queues. */
export async function startStack(name: string, env: Record<string, string> = {}): Promise<Stack> {
  const prefix = `qat-test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await useBackend('wasm');
  const t = await buildTestApp({ QUEUE_PREFIX: prefix, ...env });
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const db: Db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
  const training = workerTraining(t.config, db, 'wasm', pino({ level: 'silent' }));
  const worker: RunningWorker = await startWorkerProcess(
    {
      redisUrl: TEST_REDIS_URL,
      queuePrefix: prefix,
      concurrency: 1,
      training: { backend: 'wasm', reason: 'test' },
      pingDatabase: async () => undefined,
      closeDatabase: async () => undefined,
      trainer: training.trainer,
      // Data-parallel jobs' rounds too, as every `qat worker` consumes them.
      shards: training.shards,
    },
    pino({ level: 'silent' }),
  );
  return {
    t,
    baseUrl: address,
    async close() {
      await worker.stop();
      await training.close();
      await t.close();
      await dropQueueKeys(prefix);
      await db.$disconnect();
    },
  };
}

// A `qat worker` in the test process, wired as the production command wires it (training processes,
// reaper off, optionally the shard consumers), on the test app's configuration and queue prefix.
import { pino, type Logger } from 'pino';
import { workerTraining } from '../../src/cli/workerRuntime.js';
import { createDb } from '../../src/db/client.js';
import { startWorkerProcess } from '../../src/workers/workerProcess.js';
import type { TestApp } from './app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './env.js';
import { dropQueueKeys } from './queues.js';

export interface TestWorker {
  db: ReturnType<typeof createDb>;
  /** Stops the worker, its training runtime, the app, and clears the prefix's Redis keys. */
  close(): Promise<void>;
}

export async function startTestWorker(t: TestApp, prefix: string, o: { logger?: Logger; shards?: boolean } = {}): Promise<TestWorker> {
  const db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
  const training = workerTraining(t.config, db, 'wasm', o.logger ?? pino({ level: 'silent' }));
  const worker = await startWorkerProcess(
    {
      redisUrl: TEST_REDIS_URL,
      queuePrefix: prefix,
      concurrency: 1,
      training: { backend: 'wasm', reason: 'test' },
      pingDatabase: async () => undefined,
      closeDatabase: async () => undefined,
      trainer: training.trainer,
      ...(o.shards ? { shards: training.shards } : {}),
    },
    pino({ level: 'silent' }),
  );
  return {
    db,
    close: async () => {
      await worker.stop();
      await training.close();
      await t.close();
      await dropQueueKeys(prefix);
      await db.$disconnect();
    },
  };
}

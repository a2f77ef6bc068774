import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { listWorkers } from '../../src/queue/workerRegistry.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, tempDir } from '../support/env.js';
import { startQat } from '../support/process.js';

const redis = createRedis(TEST_REDIS_URL, { role: 'worker' });
afterAll(() => closeRedis(redis));

describe('qat worker', () => {
  it('starts, reports ready, is listed while it runs, and deregisters on SIGTERM', async () => {
    const prefix = `qat-test-worker-${process.pid}`;
    const proc = startQat(['worker'], { DATABASE_URL: TEST_DATABASE_URL, REDIS_URL: TEST_REDIS_URL, DATA_DIR: tempDir(), QUEUE_PREFIX: prefix, WORKER_CONCURRENCY: '2' });
    const ready = await proc.waitForLog(/^worker ready$/);
    expect(ready).toMatchObject({ queues: ['qat-train', 'qat-webhooks', 'qat-shards', 'qat-rounds'], concurrency: 2, prefix, training_backend: 'wasm', training_backend_reason: expect.stringMatching(/tfjs-node/) });
    const listed = await listWorkers(redis, prefix);
    expect(listed).toEqual([expect.objectContaining({ id: ready.worker_id, pid: proc.child.pid })]);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toMatch(/"msg":"worker stopped"/);
    expect(await listWorkers(redis, prefix)).toEqual([]);
  });

  it('refuses to start when Redis is unreachable, saying so', async () => {
    const proc = startQat(['worker'], { DATABASE_URL: TEST_DATABASE_URL, REDIS_URL: 'redis://127.0.0.1:1', DATA_DIR: tempDir() });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/ECONNREFUSED|connect/);
  });
});

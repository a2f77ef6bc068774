// Real Redis; every test gets its own queue prefix and removes its keys afterwards (bullmq's style).
import { afterEach, describe, expect, it } from 'vitest';
import { closeRedis, createRedis, pingRedis } from '../../src/queue/connection.js';
import { QUEUE_NAMES, type TrainJobPayload } from '../../src/queue/names.js';
import { createQueue, createWorker, type QueueContext } from '../../src/queue/queues.js';
import { listWorkers, WorkerRegistration, workerKey } from '../../src/queue/workerRegistry.js';
import { closedPort, TEST_REDIS_URL } from '../support/env.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function context(): { ctx: QueueContext; prefix: string } {
  const prefix = `qat-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const worker = createRedis(TEST_REDIS_URL, { role: 'worker' });
  cleanups.push(async () => {
    const keys = await worker.keys(`${prefix}:*`);
    if (keys.length) await worker.del(...keys);
    await closeRedis(worker);
  });
  return { ctx: { connection: worker, prefix }, prefix };
}

describe('queue wiring', () => {
  it('a ping while the first connection is still being made waits for it (readiness right after start)', async () => {
    const r = createRedis(TEST_REDIS_URL, { role: 'producer' });
    r.connect().catch(() => undefined);
    expect(r.status).toBe('connecting');
    await expect(pingRedis(r)).resolves.toBeUndefined();
    await closeRedis(r);
  });

  it('delivers a typed payload from producer to worker under the configured prefix', async () => {
    const { ctx, prefix } = context();
    const producer = createRedis(TEST_REDIS_URL, { role: 'producer' });
    await pingRedis(producer);
    const queue = createQueue(QUEUE_NAMES.train, { connection: producer, prefix });
    const received: TrainJobPayload[] = [];
    const done = new Promise<void>((resolve) => {
      const worker = createWorker(
        QUEUE_NAMES.train,
        async (job) => {
          received.push(job.data);
          resolve();
          return 'ok';
        },
        ctx,
      );
      cleanups.push(() => worker.close());
    });
    cleanups.push(async () => {
      await queue.close();
      await closeRedis(producer);
    });

    await queue.add('train', { jobId: 'job-1', attempt: 2 });
    await done;
    expect(received).toEqual([{ jobId: 'job-1', attempt: 2 }]);
    const keys = await producer.keys(`${prefix}:${QUEUE_NAMES.train}:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('a producer fails fast instead of queueing commands while Redis is down', async () => {
    const producer = createRedis(`redis://127.0.0.1:${await closedPort()}`, { role: 'producer', connectTimeoutMs: 500 });
    cleanups.push(() => closeRedis(producer));
    const started = Date.now();
    await expect(pingRedis(producer)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('worker registry', () => {
  it('lists a registered worker, and forgets it on stop', async () => {
    const { ctx, prefix } = context();
    const redis = ctx.connection as ReturnType<typeof createRedis>;
    const reg = new WorkerRegistration(redis, prefix, { id: 'w1', queues: [QUEUE_NAMES.train], concurrency: 2 });
    await reg.start();
    const listed = await listWorkers(redis, prefix);
    expect(listed).toEqual([expect.objectContaining({ id: 'w1', queues: ['qat-train'], concurrency: 2, pid: process.pid })]);
    await reg.stop();
    expect(await listWorkers(redis, prefix)).toEqual([]);
  });

  it('forgets a worker that stops beating once its TTL runs out', async () => {
    const { ctx, prefix } = context();
    const redis = ctx.connection as ReturnType<typeof createRedis>;
    const reg = new WorkerRegistration(redis, prefix, { id: 'w2', queues: [], concurrency: 1 }, 300);
    await reg.start();
    // Simulate a crash: the timer dies with the process, the key is never deleted.
    (reg as unknown as { timer: NodeJS.Timeout }).timer.close();
    expect(await redis.pttl(workerKey(prefix, 'w2'))).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 450));
    expect(await listWorkers(redis, prefix)).toEqual([]);
  });
});

// The worker process: connects to Redis (with the options BullMQ's blocking commands need) and
// Postgres, announces itself in the worker registry, and drains on shutdown. Job processors attach
// here as the pipeline lands (issue 6); the lifecycle below is what they run inside.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createDb, pingDb } from '../db/client.js';
import { closeRedis, createRedis, pingRedis } from '../queue/connection.js';
import { QUEUE_NAMES } from '../queue/names.js';
import { WorkerRegistration } from '../queue/workerRegistry.js';

export interface RunningWorker {
  id: string;
  stop(): Promise<void>;
}

export async function startWorkerProcess(config: Config, logger: Logger): Promise<RunningWorker> {
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const redis = createRedis(config.redisUrl, { role: 'worker', onError: (err) => logger.warn({ err: err.message }, 'redis connection error') });
  const db = createDb(config.databaseUrl, { poolSize: config.workerConcurrency + 2 });
  try {
    await Promise.all([pingRedis(redis), pingDb(db)]);
  } catch (err) {
    await Promise.allSettled([closeRedis(redis), db.$disconnect()]);
    throw err;
  }
  const queues = [QUEUE_NAMES.train];
  const registration = new WorkerRegistration(redis, config.queuePrefix, { id, queues, concurrency: config.workerConcurrency });
  await registration.start();
  logger.info({ worker_id: id, queues, concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'worker ready');

  let stopping: Promise<void> | undefined;
  return {
    id,
    stop: () =>
      (stopping ??= (async () => {
        await registration.stop();
        await Promise.allSettled([closeRedis(redis), db.$disconnect()]);
        logger.info({ worker_id: id }, 'worker stopped');
      })()),
  };
}

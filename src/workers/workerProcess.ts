// The worker process: connects to Redis (with the options BullMQ's blocking commands need), checks the
// database through the function its composition root gives it, announces itself in the worker
// registry, and drains on shutdown: running training attempts checkpoint and hand their jobs over to
// other workers (src/workers/training/trainJob.ts), webhook deliveries in flight finish.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { closeRedis, createRedis, pingRedis } from '../queue/connection.js';
import { QUEUE_NAMES } from '../queue/names.js';
import { createWorker, type QueueContext } from '../queue/queues.js';
import { WorkerRegistration } from '../queue/workerRegistry.js';
import type { RunningShardWorkers } from './shards/shardWorkers.js';
import type { Trainer } from './training/trainJob.js';
import { createWebhookDeliveryWorker, type WebhookWorkerOptions } from './webhookDelivery.js';

/** The TF.js backend the composition root selected (src/engine), reported with the worker. */
export interface TrainingBackendInfo {
  backend: string;
  reason: string;
}

export interface WorkerProcessOptions {
  redisUrl: string;
  queuePrefix: string;
  concurrency: number;
  training: TrainingBackendInfo;
  /** Proves the database answers (start-up refuses to run without it). */
  pingDatabase(): Promise<void>;
  /** Releases the database connection at shutdown. */
  closeDatabase(): Promise<void>;
  /** Sends webhook deliveries (queue qat-webhooks) alongside the other queues; absent = not consumed here. */
  webhooks?: WebhookWorkerOptions;
  /** Runs QAT jobs (queue qat-train); absent = this process does not train. Given the worker id it builds the processor and its hand-over. */
  trainer?: (workerId: string) => Trainer;
  /** Takes back jobs of lost workers, every `intervalMs` (every worker runs it; moves are conditional). */
  reaper?: { intervalMs: number; reap(): Promise<void> };
  /** Trains data-parallel shards and merges their rounds (queues qat-shards, qat-rounds); absent = not here. */
  shards?: (ctx: QueueContext) => RunningShardWorkers;
}

/** What every worker id of a queue prefix starts with. */
export const workerIdPrefix = (queuePrefix: string): string => `${queuePrefix}/`;

export interface RunningWorker {
  id: string;
  stop(): Promise<void>;
}

export async function startWorkerProcess(o: WorkerProcessOptions, logger: Logger): Promise<RunningWorker> {
  // Prefixed with the queue prefix: reapers only take back jobs of workers of their own queues.
  const id = `${workerIdPrefix(o.queuePrefix)}${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const redis = createRedis(o.redisUrl, { role: 'worker', onError: (err) => logger.warn({ err: err.message }, 'redis connection error') });
  try {
    await Promise.all([pingRedis(redis), o.pingDatabase()]);
  } catch (err) {
    await Promise.allSettled([closeRedis(redis), o.closeDatabase()]);
    throw err;
  }
  const queues: string[] = [];
  // Training runs in a child process per attempt, so this event loop stays free for BullMQ's lock renewal.
  const trainer = o.trainer?.(id);
  const trainWorker = trainer
    ? createWorker(QUEUE_NAMES.train, trainer.processor, { connection: redis, prefix: o.queuePrefix }, { concurrency: o.concurrency, lockDuration: 60_000 })
    : undefined;
  if (trainWorker) {
    trainWorker.on('error', (err) => logger.warn({ err: err.message }, 'train worker error'));
    queues.push(QUEUE_NAMES.train);
  }
  const webhookWorker = o.webhooks
    ? createWebhookDeliveryWorker(o.webhooks, { connection: redis, prefix: o.queuePrefix }, logger.child({ queue: QUEUE_NAMES.webhooks }))
    : undefined;
  if (webhookWorker) queues.push(QUEUE_NAMES.webhooks);
  const shardWorkers = o.shards?.({ connection: redis, prefix: o.queuePrefix });
  if (shardWorkers) queues.push(QUEUE_NAMES.shards, QUEUE_NAMES.rounds);
  const reaper = o.reaper
    ? setInterval(() => {
        o.reaper!.reap().catch((err: Error) => logger.warn({ err: err.message }, 'reaper failed'));
      }, o.reaper.intervalMs)
    : undefined;
  const registration = new WorkerRegistration(redis, o.queuePrefix, { id, queues, concurrency: o.concurrency, backend: o.training.backend });
  await registration.start();
  logger.info(
    { worker_id: id, queues, concurrency: o.concurrency, prefix: o.queuePrefix, training_backend: o.training.backend, training_backend_reason: o.training.reason },
    'worker ready',
  );

  let stopping: Promise<void> | undefined;
  return {
    id,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(reaper);
        await registration.stop();
        // Takes no new attempts, and hands the running ones over: each checkpoints and goes back to the
        // queue for another worker (bounded by JOB_SHUTDOWN_GRACE_MS); close() returns once they have.
        const closing = trainWorker?.close().catch((err: Error) => logger.warn({ err: err.message }, 'train worker close failed'));
        await Promise.all([trainer?.handOver(), closing]);
        // A shard in training finishes its round's few steps; queued ones wait for other workers.
        await shardWorkers?.close();
        // Lets in-flight deliveries finish (each is bounded by WEBHOOK_TIMEOUT_MS).
        await webhookWorker?.close().catch((err: Error) => logger.warn({ err: err.message }, 'webhook worker close failed'));
        await Promise.allSettled([closeRedis(redis), o.closeDatabase()]);
        logger.info({ worker_id: id }, 'worker stopped');
      })()),
  };
}

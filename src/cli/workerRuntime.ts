// Composition of a worker's training: the qat-train processor with its job-run use cases. Kept apart from
// runtime.ts so the API process never loads TF.js or ONNX Runtime.
import type { Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { version_core as tfVersion } from '../core/tf.js';
import type { Db } from '../db/client.js';
import { datasetRepository } from '../db/datasetRepository.js';
import { jobRepository } from '../db/jobRepository.js';
import { modelRepository } from '../db/modelRepository.js';
import type { JsonValue } from '../db/webhookRepository.js';
import { ORT_VERSION } from '../export/verify/session.js';
import { closeRedis, createRedis } from '../queue/connection.js';
import { QUEUE_NAMES, type TrainJobPayload } from '../queue/names.js';
import { trainQueue } from '../queue/trainQueue.js';
import { JobRunService } from '../services/jobRuns.js';
import type { WebhookEvent } from '../services/webhooks.js';
import { LocalDiskStore } from '../storage/localDiskStore.js';
import { trainJobProcessor } from '../workers/training/trainJob.js';
import { createWebhookService, VERSION } from './runtime.js';

/** The `trainer` option of startWorkerProcess: the qat-train processor with its job-run use cases, and what to close. */
export function workerTraining(
  config: Config,
  db: Db,
  backend: string,
  logger: Logger,
): { trainer: (workerId: string) => Processor<TrainJobPayload>; reaper: { intervalMs: number; reap(): Promise<void> }; close(): Promise<void> } {
  const redis = createRedis(config.redisUrl, { role: 'producer', onError: (err) => logger.warn({ err: err.message }, 'redis connection error') });
  redis.connect().catch(() => undefined);
  const webhooks = createWebhookService(config, db, redis);
  const queue = trainQueue({ connection: redis, prefix: config.queuePrefix }, (err) => logger.warn({ err: err.message }, 'train queue error'));
  const runs = new JobRunService({
    queue,
    jobs: jobRepository(db),
    datasets: datasetRepository(db),
    models: modelRepository(db),
    notifier: {
      emit: async (tenantId, event, payload) => {
        await webhooks.service.emit(tenantId, event as WebhookEvent, payload as Record<string, JsonValue>).catch((err: unknown) => logger.warn({ err: (err as Error).message, event }, 'webhook emit failed'));
      },
    },
  });
  const store = new LocalDiskStore(config.dataDir);
  const versions = { 'qat-service': VERSION, node: process.version, 'tfjs-core': tfVersion, 'onnxruntime-node': ORT_VERSION };
  return {
    trainer: (workerId) =>
      trainJobProcessor({
        runs,
        store,
        workerId,
        backend,
        versions,
        maxModelParams: config.maxModelParams,
        logger: logger.child({ queue: QUEUE_NAMES.train }),
        heartbeatMs: Math.max(500, Math.floor(config.jobHeartbeatTimeoutMs / 4)),
      }),
    reaper: {
      intervalMs: Math.max(500, Math.floor(config.jobHeartbeatTimeoutMs / 3)),
      reap: async () => {
        const r = await runs.reapStale({ timeoutMs: config.jobHeartbeatTimeoutMs, maxAttempts: config.jobMaxAttempts });
        if (r.requeued.length + r.failed.length + r.cancelled.length > 0) logger.warn(r, 'took back jobs of lost workers');
      },
    },
    close: async () => {
      await queue.close();
      await webhooks.close();
      await closeRedis(redis);
    },
  };
}

// Composition of a worker's training: the qat-train processor with its job-run use cases, forking one
// training process (trainChild.ts) per attempt. Kept apart from runtime.ts so the API process never
// loads TF.js or ONNX Runtime.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { QUEUE_NAMES } from '../queue/names.js';
import { trainQueue } from '../queue/trainQueue.js';
import { JobRunService, type RunNotifier } from '../services/jobRuns.js';
import type { WebhookEvent } from '../services/webhooks.js';
import { forkTrainingChild } from '../workers/training/childProcess.js';
import { createTrainer, type Trainer } from '../workers/training/trainJob.js';
import { workerIdPrefix } from '../workers/workerProcess.js';
import { jobShardContextLoader } from '../workers/shards/jobShardContext.js';
import { type RunningShardWorkers, startShardWorkers } from '../workers/shards/shardWorkers.js';
import { LocalDiskStore } from '../storage/localDiskStore.js';
import type { QueueContext } from '../queue/queues.js';
import { createWebhookService, VERSION } from './runtime.js';

/**
 * The training process's entry module, next to this one: the .ts source when running from source (with
 * the worker's own `--import tsx`, added if the worker runs under another TS loader), the compiled .js in
 * dist/. Debugger flags are not passed on (the child would fight over the port).
 */
export function trainChildEntry(moduleUrl: string = import.meta.url, execArgv: readonly string[] = process.execArgv): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(moduleUrl);
  const fromSource = here.endsWith('.ts');
  const entry = path.join(path.dirname(here), `trainChild${fromSource ? '.ts' : '.js'}`);
  const args = execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
  const hasTsx = args.some((a, i) => /(^|[=/])tsx(\/|$)/.test(a) || ((a === '--import' || a === '--loader') && /(^|\/)tsx/.test(args[i + 1] ?? '')));
  if (fromSource && !hasTsx) args.push('--import', 'tsx');
  return { entry, execArgv: args };
}

/** The `trainer` option of startWorkerProcess: the qat-train processor with its job-run use cases, the reaper, and what to close. */
export function workerTraining(
  config: Config,
  db: Db,
  backend: string,
  logger: Logger,
): {
  trainer: (workerId: string) => Trainer;
  reaper: { intervalMs: number; reap(): Promise<void> };
  shards: (ctx: QueueContext) => RunningShardWorkers;
  close(): Promise<void>;
} {
  const redis = createRedis(config.redisUrl, { role: 'producer', onError: (err) => logger.warn({ err: err.message }, 'redis connection error') });
  redis.connect().catch(() => undefined);
  const webhooks = createWebhookService(config, db, redis);
  const queue = trainQueue({ connection: redis, prefix: config.queuePrefix }, (err) => logger.warn({ err: err.message }, 'train queue error'));
  const notifier: RunNotifier = {
    emit: async (tenantId, event, payload) => {
      await webhooks.service.emit(tenantId, event as WebhookEvent, payload as Record<string, JsonValue>).catch((err: unknown) => logger.warn({ err: (err as Error).message, event }, 'webhook emit failed'));
    },
  };
  const jobs = jobRepository(db);
  const store = new LocalDiskStore(config.dataDir);
  const runs = new JobRunService({ queue, jobs, datasets: datasetRepository(db), models: modelRepository(db), notifier, store });
  const versions = { 'qat-service': VERSION, node: process.version, 'tfjs-core': tfVersion, 'onnxruntime-node': ORT_VERSION };
  const child = trainChildEntry();
  const retry = { maxAttempts: config.jobMaxAttempts, backoffMs: config.jobRetryBackoffMs };
  return {
    trainer: (workerId) =>
      createTrainer({
        runs,
        workerId,
        logger: logger.child({ queue: QUEUE_NAMES.train }),
        notifier,
        launch: (ref) => forkTrainingChild({ ...child, start: { type: 'start', ref, config: { ...config }, backend, versions } }),
        retry,
        shutdownGraceMs: config.jobShutdownGraceMs,
        pollMs: Math.max(250, Math.min(1000, Math.floor(config.jobHeartbeatTimeoutMs / 4))),
      }),
    shards: (ctx) =>
      startShardWorkers(
        {
          store,
          load: jobShardContextLoader({ store, inputs: (jobId, attempt) => runs.inputs(jobId, attempt), maxModelParams: config.maxModelParams }),
          isLive: async (jobId, attempt) => {
            const job = await jobs.findById(jobId);
            // PREPARING too: a resumed attempt may send its first round before its RUNNING transition lands.
            return (job?.status === 'RUNNING' || job?.status === 'PREPARING') && job.attempt === attempt;
          },
          logger: logger.child({ queue: QUEUE_NAMES.shards }),
          lockDurationMs: config.shardLockMs,
        },
        ctx,
      ),
    reaper: {
      intervalMs: Math.max(500, Math.floor(config.jobHeartbeatTimeoutMs / 3)),
      reap: async () => {
        const r = await runs.reapStale({ timeoutMs: config.jobHeartbeatTimeoutMs, workerIdPrefix: workerIdPrefix(config.queuePrefix), ...retry });
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

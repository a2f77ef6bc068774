// Composition of the long-running processes: builds the real dependencies (Prisma, Redis, the blob
// store, services) from one Config. Tests use these same functions, so they run the production wiring.
import { readFileSync } from 'node:fs';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Logger } from 'pino';
import type { ApiDeps } from '../api/deps.js';
import { type Config, parseConfig } from '../config/index.js';
import { apiKeyRepository } from '../db/apiKeyRepository.js';
import { createDb, type Db } from '../db/client.js';
import { ConfigError } from '../errors/index.js';
import { closeRedis, createRedis } from '../queue/connection.js';
import { ApiKeyService } from '../services/apiKeys.js';
import { JobService } from '../services/jobs.js';
import { JobOutputService } from '../services/jobOutputs.js';
import { JobEventService } from '../services/jobEvents.js';
import { jobRepository } from '../db/jobRepository.js';
import { trainQueue } from '../queue/trainQueue.js';
import { ReadinessService } from '../services/readiness.js';
import { ServiceMetrics } from '../services/metrics.js';
import { QueueMonitor } from '../services/queueStats.js';
import { LocalDiskStore } from '../storage/localDiskStore.js';
import { datasetRepository } from '../db/datasetRepository.js';
import { modelRepository } from '../db/modelRepository.js';
import { DatasetService } from '../services/datasets.js';
import { ModelService } from '../services/models.js';
import { InspectionThreads, ThreadedDatasetInspector, ThreadedModelInspector } from '../workers/inspect/inspectionThreads.js';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { webhookRepository } from '../db/webhookRepository.js';
import { QUEUE_NAMES, type WebhookDeliveryPayload } from '../queue/names.js';
import { createQueue } from '../queue/queues.js';
import { queueEnqueuer, WebhookDeliveryService, type WebhookEvent, WebhookService } from '../services/webhooks.js';
import type { JsonValue } from '../db/webhookRepository.js';
import type { WebhookWorkerOptions } from '../workers/webhookDelivery.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The process's configuration, or a ConfigError naming every invalid variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const result = parseConfig(env);
  if (!result.ok) throw new ConfigError(result.problems);
  return result.config;
}

export interface ApiRuntime {
  deps: ApiDeps;
  db: Db;
  /** Closes Redis and Prisma; safe to call twice. */
  close(): Promise<void>;
}

export function createApiRuntime(config: Config, logger?: Logger): ApiRuntime {
  const db = createDb(config.databaseUrl);
  const redis = createRedis(config.redisUrl, {
    role: 'producer',
    connectTimeoutMs: config.readinessTimeoutMs,
    onError: (err) => logger?.warn({ err: err.message }, 'redis connection error'),
  });
  const store = new LocalDiskStore(config.dataDir);
  // Dedicated fail-fast connections (producer options: no offline queue, one retry), so a Redis
  // outage never hangs a request: one for the rate limiter's counters, one for the queues that
  // GET /metrics counts and Bull Board shows (created on first use; at start only for the board).
  const opsRedis = (use: string) =>
    createRedis(config.redisUrl, {
      role: 'producer',
      connectTimeoutMs: config.readinessTimeoutMs,
      onError: (err) => logger?.warn({ err: err.message, connection: use }, 'redis connection error'),
    });
  const rateLimitRedis = opsRedis('rate-limit');
  const monitorRedis = opsRedis('queue-monitor');
  const queueMonitor = new QueueMonitor({
    redis: monitorRedis,
    prefix: config.queuePrefix,
    onError: (err) => logger?.debug({ err: err.message }, 'queue monitor error'),
  });
  const closeOps = () => queueMonitor.close().then(() => Promise.all([closeRedis(monitorRedis), closeRedis(rateLimitRedis)]));
  // BullMQ would connect a lazy client itself and not recover if Redis was down at start-up.
  redis.connect().catch(() => undefined);
  const train = trainQueue({ connection: redis, prefix: config.queuePrefix }, (err) => logger?.warn({ err: err.message }, 'train queue error'));
  const webhooks = createWebhookService(config, db, redis);
  const deps: ApiDeps = {
    config,
    version: VERSION,
    readiness: new ReadinessService({ db, redis, store, timeoutMs: config.readinessTimeoutMs }),
    apiKeys: new ApiKeyService(apiKeyRepository(db)),
    rateLimitRedis,
    metrics: new ServiceMetrics({ db, queues: queueMonitor, timeoutMs: config.readinessTimeoutMs }),
    // Built here because src/api may not import src/queue (DESIGN §2); read-only, see plugins/queueBoard.ts.
    ...(config.adminApiKey ? { queueBoard: { queues: queueMonitor.queues().map((q) => new BullMQAdapter(q, { readOnlyMode: true })) } } : {}),
    jobOutputs: new JobOutputService({ jobs: jobRepository(db), store }),
    jobs: new JobService({
      jobs: jobRepository(db),
      queue: train,
      store,
      notifier: {
        // Webhooks never fail a job request: a delivery that cannot be queued is recorded as failed.
        emit: async (tenantId, event, payload) => {
          await webhooks.service.emit(tenantId, event as WebhookEvent, payload as Record<string, JsonValue>).catch((err: unknown) => logger?.warn({ err: (err as Error).message, event }, 'webhook emit failed'));
        },
      },
    }),
    jobEvents: new JobEventService({ jobs: jobRepository(db) }),
    webhooks: webhooks.service,
    ...uploadServices(config, db, store, logger),
  };
  let closing: Promise<void> | undefined;
  return {
    deps,
    db,
    close: () => (closing ??= Promise.all([Promise.all([train.close(), webhooks.close()]).then(() => Promise.all([closeRedis(redis), db.$disconnect()])), closeOps()]).then(() => undefined)),
  };
}

/**
 * Dataset and model uploads: stored in the blob store, validated in worker threads (src/workers/inspect)
 * that reopen the same LocalDiskStore from DATA_DIR, at most two at once (the machines have two cores).
 */
export function uploadServices(config: Config, db: Db, store: LocalDiskStore, logger?: Logger): Pick<ApiDeps, 'datasets' | 'models'> {
  const threads = new InspectionThreads({ dataDir: config.dataDir, maxThreads: 2 });
  const onCleanupError = (prefix: string, err: unknown) => logger?.warn({ prefix, err: (err as Error).message }, 'could not remove the files of a deleted or refused upload');
  const common = { store, maxUploadBytes: config.maxUploadBytes, onCleanupError };
  return {
    datasets: new DatasetService({ ...common, repo: datasetRepository(db), inspector: new ThreadedDatasetInspector(threads) }),
    models: new ModelService({ ...common, repo: modelRepository(db), inspector: new ThreadedModelInspector(threads), maxParams: config.maxModelParams }),
  };
}

export interface WebhookRuntime {
  service: WebhookService;
  /** Closes the delivery queue if it was opened (not the connection, which the caller owns). */
  close(): Promise<void>;
}

/**
 * Webhook subscriptions and `emit` for any process (API or worker): deliveries are queued on
 * `qat-webhooks` over `connection`, a queue opened on the first emit that has someone to deliver to.
 */
export function createWebhookService(config: Config, db: Db, connection: Redis): WebhookRuntime {
  let queue: Queue<WebhookDeliveryPayload> | undefined;
  const open = (): Queue<WebhookDeliveryPayload> => (queue ??= createQueue(QUEUE_NAMES.webhooks, { connection, prefix: config.queuePrefix }));
  const service = new WebhookService(webhookRepository(db), {
    allowPrivate: config.webhookAllowPrivate,
    enqueue: queueEnqueuer(open, { maxAttempts: config.webhookMaxAttempts, backoffMs: config.webhookBackoffMs }),
  });
  return { service, close: async () => void (await queue?.close()) };
}

/** The `webhooks` option of startWorkerProcess: the delivery worker's use case and concurrency. */
export function webhookWorkerOptions(config: Config, db: Db): WebhookWorkerOptions {
  return {
    deliveries: new WebhookDeliveryService(webhookRepository(db), {
      allowPrivate: config.webhookAllowPrivate,
      timeoutMs: config.webhookTimeoutMs,
      userAgent: `qat-service/${VERSION} (webhooks)`,
    }),
    concurrency: config.webhookConcurrency,
  };
}


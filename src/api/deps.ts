// What the HTTP layer needs from the rest of the service. A composition root builds these; tests
// build them the same way (src/cli/runtime.ts), so tests exercise exactly the production app.
import type { Config } from '../config/index.js';
import type { ServiceMetrics } from '../services/metrics.js';
import type { Redis } from 'ioredis';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import type { ApiKeyService } from '../services/apiKeys.js';
import type { DatasetService } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import type { JobService } from '../services/jobs.js';
import type { JobOutputService } from '../services/jobOutputs.js';
import type { JobEventService } from '../services/jobEvents.js';
import type { ReadinessService } from '../services/readiness.js';
import type { WebhookService } from '../services/webhooks.js';

export interface ApiDeps {
  config: Config;
  version: string;
  readiness: ReadinessService;
  apiKeys: ApiKeyService;
  /** Dataset uploads (validated off the request thread), listing, deletion. */
  datasets: DatasetService;
  /** Model uploads and zoo specs, listing, deletion. */
  models: ModelService;
  /** A dedicated fail-fast Redis connection for the per-API-key rate limit counters. */
  rateLimitRedis: Redis;
  /** Jobs by status, queue depths and training throughput, read when GET /metrics is scraped. */
  metrics: ServiceMetrics;
  /** Bull Board's queue adapters, built by the composition root; absent unless ADMIN_API_KEY is set. */
  queueBoard?: { queues: BaseAdapter[] };
  jobs: JobService;
  jobOutputs: JobOutputService;
  /** A job's event feed (replay, then follow) behind GET /v1/jobs/{id}/events. */
  jobEvents: JobEventService;
  /** Webhook subscriptions and their delivery history (`emit` is for the job lifecycle). */
  webhooks: WebhookService;
}

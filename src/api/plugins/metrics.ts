// Prometheus metrics at GET /metrics (text exposition format), one prom-client Registry per app so
// several apps can live in one process (tests). Unauthenticated, like /healthz: serve it on the
// internal network only, or set METRICS_ENABLED=false. Not part of the OpenAPI contract.
//
// - default process metrics (process_*, nodejs_*: CPU, memory, event-loop lag, GC, handles)
// - qat_http_request_duration_seconds{method, route, status_code}: `route` is the route pattern
//   (`/v1/jobs/:id`), never the raw URL, and `unmatched` for requests no route matched (bounded labels)
// - read at scrape time from the services (each source has a deadline; one that fails is reported
//   by qat_metrics_source_up{source} = 0 and its gauges are left out rather than stale):
//   qat_jobs{status} (Postgres, all tenants), qat_queue_jobs{queue, state} (BullMQ),
//   qat_training_samples_per_second (sum of `progress.samples_per_s` of RUNNING jobs; 0 while no
//   running job reports it — qat_training_jobs_reporting_throughput says how many do).
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../../services/metrics.js';
import type { ApiDeps } from '../deps.js';

// Seconds; dense below 50 ms, where the API's status reads are expected to answer.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METRICS_PATH = '/metrics';

export function registerMetrics(app: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'metrics'>): void {
  if (!deps.config.metricsEnabled) return;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const http = new Histogram({
    name: 'qat_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const jobs = new Gauge({ name: 'qat_jobs', help: 'Jobs by status, all tenants (Postgres, read at scrape time)', labelNames: ['status'] as const, registers });
  const queued = new Gauge({
    name: 'qat_queue_jobs',
    help: 'BullMQ jobs by queue and state (Redis, read at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers,
  });
  const samples = new Gauge({
    name: 'qat_training_samples_per_second',
    help: 'Training throughput summed over RUNNING jobs, from the samples_per_s their workers last wrote to jobs.progress',
    registers,
  });
  const reporting = new Gauge({
    name: 'qat_training_jobs_reporting_throughput',
    help: 'RUNNING jobs whose progress carries samples_per_s',
    registers,
  });
  const up = new Gauge({
    name: 'qat_metrics_source_up',
    help: '1 if the source answered this scrape, else 0 (its metrics are then absent)',
    labelNames: ['source'] as const,
    registers,
  });

  const apply = (snap: MetricsSnapshot): void => {
    for (const g of [jobs, queued, samples, reporting]) g.reset();
    up.set({ source: 'postgres' }, snap.jobs ? 1 : 0);
    up.set({ source: 'redis' }, snap.queues ? 1 : 0);
    if (snap.jobs) {
      for (const [status, n] of Object.entries(snap.jobs.byStatus)) jobs.set({ status }, n);
      samples.set(snap.jobs.trainingSamplesPerSecond);
      reporting.set(snap.jobs.runningReportingThroughput);
    }
    for (const q of snap.queues ?? []) {
      for (const [state, n] of Object.entries(q.counts)) queued.set({ queue: q.queue, state }, n);
    }
  };

  app.addHook('onResponse', async (request, reply) => {
    http.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    const snap = await deps.metrics.snapshot();
    for (const [source, error] of Object.entries(snap.errors)) request.log.warn({ source, err: error }, 'metrics source did not answer');
    apply(snap);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

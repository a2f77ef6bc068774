// What GET /metrics reports beyond the HTTP layer, read when Prometheus scrapes: jobs by status and
// the training throughput of running jobs (one GROUP BY over jobs), and queue depths (BullMQ). Each
// source has its own deadline; a source that fails is reported as down and its numbers are left out
// rather than failing the scrape or showing stale values.
import type { Db } from '../db/client.js';
import type { QueueDepth, QueueMonitor } from './queueStats.js';

/** DESIGN §4's job states (the `JobStatus` enum of prisma/schema.prisma). */
export const JOB_STATUSES = ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

/**
 * The key of `jobs.progress` a worker writes its current training throughput under (samples per
 * second, a JSON number), the same name as the report's `samples_per_s`.
 */
export const PROGRESS_SAMPLES_PER_S = 'samples_per_s';

export interface JobStats {
  /** Every status of JOB_STATUSES, 0 when no job has it. All tenants. */
  byStatus: Record<string, number>;
  /** Sum of `progress.samples_per_s` over RUNNING jobs; 0 when none reports it. */
  trainingSamplesPerSecond: number;
  /** RUNNING jobs whose progress carries a numeric `samples_per_s`. */
  runningReportingThroughput: number;
}

export type MetricsSourceName = 'postgres' | 'redis';

export interface MetricsSnapshot {
  /** null when Postgres did not answer in time (`errors.postgres` says why). */
  jobs: JobStats | null;
  /** null when Redis did not answer in time (`errors.redis` says why). */
  queues: QueueDepth[] | null;
  errors: Partial<Record<MetricsSourceName, string>>;
}

interface JobRow {
  status: string;
  jobs: number;
  samples_per_s: number;
  reporting: number;
}

export class ServiceMetrics {
  constructor(private readonly deps: { db: Db; queues: QueueMonitor; timeoutMs: number }) {}

  async snapshot(): Promise<MetricsSnapshot> {
    const [jobs, queues] = await Promise.allSettled([this.within(this.jobStats()), this.within(this.deps.queues.depths())]);
    const errors: MetricsSnapshot['errors'] = {};
    if (jobs.status === 'rejected') errors.postgres = message(jobs.reason);
    if (queues.status === 'rejected') errors.redis = message(queues.reason);
    return { jobs: jobs.status === 'fulfilled' ? jobs.value : null, queues: queues.status === 'fulfilled' ? queues.value : null, errors };
  }

  /** One pass over jobs: counts per status, and the summed throughput of the running ones. */
  async jobStats(): Promise<JobStats> {
    const rows = await this.deps.db.$queryRaw<JobRow[]>`
      SELECT status::text AS status,
             count(*)::int AS jobs,
             coalesce(sum(CASE WHEN status = 'RUNNING' AND jsonb_typeof(progress -> 'samples_per_s') = 'number'
                               THEN (progress ->> 'samples_per_s')::float8 END), 0)::float8 AS samples_per_s,
             count(*) FILTER (WHERE status = 'RUNNING' AND jsonb_typeof(progress -> 'samples_per_s') = 'number')::int AS reporting
        FROM jobs
       GROUP BY status`;
    const byStatus: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
    let trainingSamplesPerSecond = 0;
    let runningReportingThroughput = 0;
    for (const row of rows) {
      byStatus[row.status] = Number(row.jobs);
      trainingSamplesPerSecond += Number(row.samples_per_s);
      runningReportingThroughput += Number(row.reporting);
    }
    return { byStatus, trainingSamplesPerSecond, runningReportingThroughput };
  }

  private async within<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.deps.timeoutMs} ms`)), this.deps.timeoutMs);
    });
    // A late failure after the deadline must not surface as an unhandled rejection.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';

// Jobs, their transitions, event stream, metrics and artifacts. A status change is one transaction:
// lock the row, check the move is allowed from the status it is in now, update it, and append the
// transition and its event — so the API and workers never lose each other's updates.
import type { Prisma } from './generated/client.js';
import type { Db } from './client.js';
import { pageWhere } from './resourcePaging.js';

type JobStatus = 'QUEUED' | 'PREPARING' | 'RUNNING' | 'CANCELLING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
type JobPhase = 'VALIDATING' | 'TRAINING_FLOAT' | 'CALIBRATING' | 'TRAINING_QAT' | 'QUANTIZING' | 'EXPORTING' | 'EVALUATING';

export interface StoredJob {
  id: string;
  tenantId: string;
  modelId: string;
  datasetId: string;
  status: JobStatus;
  phase: JobPhase | null;
  config: unknown;
  progress: unknown;
  errorCode: string | null;
  errorMessage: string | null;
  attempt: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  workerId: string | null;
  heartbeatAt: Date | null;
  report: unknown;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface StoredTransition {
  fromStatus: JobStatus | null;
  toStatus: JobStatus;
  phase: JobPhase | null;
  message: string | null;
  at: Date;
}

export interface StoredEvent {
  id: bigint;
  type: string;
  data: unknown;
  at: Date;
}

export interface StoredArtifact {
  name: string;
  kind: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
  createdAt: Date;
}

export interface StoredMetric {
  step: number;
  epoch: number;
  value: number;
  at: Date;
  shard: number | null;
}

export interface TransitionInput {
  to: JobStatus;
  /** Statuses the job may be in; the move is refused (null returned) from any other. */
  from: readonly JobStatus[];
  phase?: JobPhase | null;
  message?: string;
  error?: { code: string; message: string } | null;
  workerId?: string | null;
  /** Start a new attempt (retry, resume). */
  nextAttempt?: boolean;
  /** Stored in the same update (a job is never SUCCEEDED without its report). */
  report?: Prisma.InputJsonValue;
}

export interface JobPage {
  items: StoredJob[];
  /** The last item's (createdAt, id): where the next page starts. */
  next: { createdAt: Date; id: string } | null;
}

export interface JobRepository {
  /** Creates the job with its first transition; with an idempotency key, an existing job for it is returned instead (created: false). */
  create(input: { tenantId: string; modelId: string; datasetId: string; config: unknown; idempotencyKey?: string; requestHash?: string }): Promise<{ job: StoredJob; created: boolean }>;
  find(tenantId: string, id: string): Promise<StoredJob | null>;
  findByIdempotencyKey(tenantId: string, key: string): Promise<StoredJob | null>;
  findById(id: string): Promise<StoredJob | null>;
  list(tenantId: string, q: { status?: JobStatus[]; createdAfter?: Date; createdBefore?: Date; limit: number; after?: { createdAt: Date; id: string } }): Promise<JobPage>;
  /** Applies the move if the job is in one of `from`; returns the previous status and the job, or null. */
  transition(id: string, t: TransitionInput): Promise<{ previous: JobStatus; job: StoredJob } | null>;
  transitions(id: string): Promise<StoredTransition[]>;
  /** Progress and heartbeat in one write; phase changes also append an event. */
  recordProgress(id: string, progress: Prisma.InputJsonValue, phase?: JobPhase): Promise<void>;
  heartbeat(id: string, workerId: string): Promise<void>;
  appendEvents(id: string, events: { type: string; data: Prisma.InputJsonValue }[]): Promise<void>;
  eventsAfter(id: string, afterId: bigint, limit: number): Promise<StoredEvent[]>;
  insertMetrics(id: string, rows: { name: string; value: number; step: number; epoch: number; shard?: number | null }[]): Promise<void>;
  saveReport(id: string, report: Prisma.InputJsonValue): Promise<void>;
  delete(tenantId: string, id: string): Promise<boolean>;
  /** Whether the tenant owns the model and the dataset a job names. */
  inputsExist(tenantId: string, modelId: string, datasetId: string): Promise<{ model: boolean; dataset: boolean }>;
  artifactKeys(id: string): Promise<string[]>;
  artifacts(id: string): Promise<StoredArtifact[]>;
  /** Jobs a worker holds (PREPARING, RUNNING, CANCELLING) whose heartbeat is older than `before`. */
  staleJobs(before: Date, limit: number): Promise<StoredJob[]>;
  /** Per metric name: how many points and the latest one (by step, then id). */
  metricSummary(id: string): Promise<{ name: string; count: number; latest: StoredMetric }[]>;
  metricSeries(id: string, name: string, q: { afterId?: bigint; limit: number }): Promise<(StoredMetric & { id: bigint })[]>;
  /** Records (or replaces, on a new attempt) an artifact of the job. */
  putArtifact(id: string, a: { name: string; kind: string; sizeBytes: number; sha256: string; storageKey: string }): Promise<void>;
}

const transitionEvent = (previous: JobStatus | null, job: StoredJob, message?: string) => ({
  type: 'transition',
  data: { from: previous, to: job.status, phase: job.phase, attempt: job.attempt, ...(message ? { message } : {}), ...(job.errorCode ? { error: { code: job.errorCode, message: job.errorMessage } } : {}) },
});

export function jobRepository(db: Db): JobRepository {
  return {
    async create(input) {
      const data = {
        tenantId: input.tenantId,
        modelId: input.modelId,
        datasetId: input.datasetId,
        config: input.config as Prisma.InputJsonValue,
        idempotencyKey: input.idempotencyKey ?? null,
        requestHash: input.requestHash ?? null,
      };
      try {
        return await db.$transaction(async (tx) => {
          const job = (await tx.job.create({ data })) as StoredJob;
          await tx.jobTransition.create({ data: { jobId: job.id, fromStatus: null, toStatus: job.status, message: 'submitted' } });
          await tx.jobEvent.create({ data: { jobId: job.id, ...transitionEvent(null, job, 'submitted') } as Prisma.JobEventUncheckedCreateInput });
          return { job, created: true };
        });
      } catch (err) {
        // A concurrent request with the same idempotency key won the race: answer with its job.
        if (input.idempotencyKey && (err as { code?: string }).code === 'P2002') {
          const job = await db.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey } } });
          if (job) return { job: job as StoredJob, created: false };
        }
        throw err;
      }
    },
    find: async (tenantId, id) => (await db.job.findFirst({ where: { id, tenantId } })) as StoredJob | null,
    findByIdempotencyKey: async (tenantId, key) => (await db.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } } })) as StoredJob | null,
    findById: async (id) => (await db.job.findUnique({ where: { id } })) as StoredJob | null,
    async list(tenantId, q) {
      const where: Prisma.JobWhereInput = {
        tenantId,
        ...(q.status?.length ? { status: { in: q.status } } : {}),
        ...(q.createdAfter || q.createdBefore ? { createdAt: { ...(q.createdAfter ? { gt: q.createdAfter } : {}), ...(q.createdBefore ? { lt: q.createdBefore } : {}) } } : {}),
        // Keyset paging on (created_at desc, id desc): stable while jobs are being added.
        ...pageWhere(q.after),
      };
      const rows = (await db.job.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: q.limit + 1 })) as StoredJob[];
      const items = rows.slice(0, q.limit);
      const last = items[items.length - 1];
      return { items, next: rows.length > q.limit && last ? { createdAt: last.createdAt, id: last.id } : null };
    },
    async transition(id, t) {
      return db.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ status: JobStatus }[]>`SELECT status::text AS status FROM jobs WHERE id = ${id}::uuid FOR UPDATE`;
        const previous = locked[0]?.status;
        if (!previous || !t.from.includes(previous)) return null;
        const now = new Date();
        const terminal = t.to === 'SUCCEEDED' || t.to === 'FAILED' || t.to === 'CANCELLED';
        const job = (await tx.job.update({
          where: { id },
          data: {
            status: t.to,
            ...(t.phase !== undefined ? { phase: t.phase } : {}),
            ...(t.error !== undefined ? { errorCode: t.error?.code ?? null, errorMessage: t.error?.message ?? null } : {}),
            ...(t.workerId !== undefined ? { workerId: t.workerId } : {}),
            // Taking or starting a job counts as a heartbeat: the reaper measures silence from here.
            ...(t.to === 'PREPARING' || t.to === 'RUNNING' ? { heartbeatAt: now } : {}),
            ...(t.nextAttempt ? { attempt: { increment: 1 }, finishedAt: null } : {}),
            ...(t.report !== undefined ? { report: t.report } : {}),
            ...(t.to === 'RUNNING' && previous === 'PREPARING' ? { startedAt: now } : {}),
            ...(terminal ? { finishedAt: now } : {}),
          },
        })) as StoredJob;
        await tx.jobTransition.create({ data: { jobId: id, fromStatus: previous, toStatus: t.to, phase: job.phase, message: t.message ?? null, at: now } });
        await tx.jobEvent.create({ data: { jobId: id, ...transitionEvent(previous, job, t.message), at: now } as Prisma.JobEventUncheckedCreateInput });
        return { previous, job };
      });
    },
    transitions: (id) =>
      db.jobTransition.findMany({ where: { jobId: id }, orderBy: { id: 'asc' }, select: { fromStatus: true, toStatus: true, phase: true, message: true, at: true } }) as Promise<StoredTransition[]>,
    async recordProgress(id, progress, phase) {
      await db.$transaction([
        db.job.update({ where: { id }, data: { progress, heartbeatAt: new Date(), ...(phase ? { phase } : {}) } }),
        db.jobEvent.create({ data: { jobId: id, type: 'progress', data: { ...(progress as object), ...(phase ? { phase } : {}) } } }),
      ]);
    },
    async heartbeat(id, workerId) {
      await db.job.update({ where: { id }, data: { heartbeatAt: new Date(), workerId } });
    },
    async appendEvents(id, events) {
      if (events.length) await db.jobEvent.createMany({ data: events.map((e) => ({ jobId: id, type: e.type, data: e.data })) });
    },
    eventsAfter: (id, afterId, limit) =>
      db.jobEvent.findMany({ where: { jobId: id, id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit, select: { id: true, type: true, data: true, at: true } }) as Promise<StoredEvent[]>,
    async insertMetrics(id, rows) {
      if (rows.length) await db.metric.createMany({ data: rows.map((r) => ({ jobId: id, name: r.name, value: r.value, step: r.step, epoch: r.epoch, shard: r.shard ?? null })) });
    },
    async saveReport(id, report) {
      await db.job.update({ where: { id }, data: { report } });
    },
    async delete(tenantId, id) {
      const { count } = await db.job.deleteMany({ where: { id, tenantId } });
      return count === 1;
    },
    async inputsExist(tenantId, modelId, datasetId) {
      const [model, dataset] = await Promise.all([db.model.count({ where: { id: modelId, tenantId } }), db.dataset.count({ where: { id: datasetId, tenantId } })]);
      return { model: model === 1, dataset: dataset === 1 };
    },
    staleJobs: async (before, limit) =>
      (await db.job.findMany({
        where: { status: { in: ['PREPARING', 'RUNNING', 'CANCELLING'] }, OR: [{ heartbeatAt: { lt: before } }, { heartbeatAt: null, updatedAt: { lt: before } }] },
        orderBy: { heartbeatAt: 'asc' },
        take: limit,
      })) as StoredJob[],
    artifacts: async (id) =>
      (await db.artifact.findMany({ where: { jobId: id }, orderBy: { name: 'asc' } })).map((a) => ({ name: a.name, kind: a.kind, sizeBytes: Number(a.sizeBytes), sha256: a.sha256, storageKey: a.storageKey, createdAt: a.createdAt })),
    async metricSummary(id) {
      // DISTINCT ON picks each name's latest point in one pass over the (job_id, name, step) index.
      const rows = await db.$queryRaw<{ name: string; count: bigint; step: number; epoch: number; value: number; at: Date; shard: number | null }[]>`
        SELECT DISTINCT ON (m.name) m.name, c.count, m.step, m.epoch, m.value, m.at, m.shard
        FROM metrics m JOIN (SELECT name, count(*) AS count FROM metrics WHERE job_id = ${id}::uuid GROUP BY name) c ON c.name = m.name
        WHERE m.job_id = ${id}::uuid
        ORDER BY m.name, m.step DESC, m.id DESC`;
      return rows.map((r) => ({ name: r.name, count: Number(r.count), latest: { step: r.step, epoch: r.epoch, value: r.value, at: r.at, shard: r.shard } }));
    },
    metricSeries: async (id, name, q) =>
      (
        await db.metric.findMany({
          where: { jobId: id, name, ...(q.afterId !== undefined ? { id: { gt: q.afterId } } : {}) },
          orderBy: { id: 'asc' },
          take: q.limit,
        })
      ).map((m) => ({ id: m.id, step: m.step, epoch: m.epoch, value: m.value, at: m.at, shard: m.shard })),
    async putArtifact(id, a) {
      const data = { kind: a.kind, sizeBytes: BigInt(a.sizeBytes), sha256: a.sha256, storageKey: a.storageKey };
      await db.artifact.upsert({ where: { jobId_name: { jobId: id, name: a.name } }, create: { jobId: id, name: a.name, ...data }, update: data });
    },
    artifactKeys: async (id) => (await db.artifact.findMany({ where: { jobId: id }, select: { storageKey: true } })).map((a) => a.storageKey),
  };
}

// Jobs, their transitions, event stream, metrics and artifacts. A status change is one transaction:
// lock the row, check the move is allowed from the status it is in now, update it, and append the
// transition and its event — so the API and workers never lose each other's updates.
import { randomUUID } from 'node:crypto';
import type { Prisma } from './generated/client.js';
import { type Db, mapDbError, sqlPool } from './client.js';
import { FreshReadBatcher } from './freshReads.js';
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
  /** Attempts that failed or were lost (the retry budget JOB_MAX_ATTEMPTS counts these; hand-overs do not). */
  failedAttempts: number;
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
  /** Only if the job is still on this attempt (a worker's move must not touch a job another attempt now holds). */
  attempt?: number;
  /** `count`: the attempt failed or was lost (spends the retry budget); `reset`: a user retry starts a fresh budget. */
  failures?: 'count' | 'reset';
  /** Stored in the same update (a job is never SUCCEEDED without its report). */
  report?: Prisma.InputJsonValue;
}

/** What a models row records that a job submission is checked against (see services/jobCompatibility.ts). */
export interface SubmitModel {
  name: string;
  format: string;
  /** One sample's shape without the batch axis; null for a zoo model. */
  inputShape: number[] | null;
  outputShape: number[] | null;
  outputActivation: string | null;
  unsupportedLayers: { name: string; className: string; reason: string }[];
  zoo: { name: string; width: number } | null;
}

/** What a datasets row records that a job submission is checked against. */
export interface SubmitDataset {
  task: string;
  features: number;
  classes: number | null;
  /** One sample's shape; null when the row does not record it. */
  sampleShape: number[] | null;
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
  /** The tenant's job with its transitions (oldest first), read in one round trip; null if there is none. */
  findWithTransitions(tenantId: string, id: string): Promise<{ job: StoredJob; transitions: StoredTransition[] } | null>;
  findByIdempotencyKey(tenantId: string, key: string): Promise<StoredJob | null>;
  findById(id: string): Promise<StoredJob | null>;
  list(tenantId: string, q: { status?: JobStatus[]; createdAfter?: Date; createdBefore?: Date; limit: number; after?: { createdAt: Date; id: string } }): Promise<JobPage>;
  /** Applies the move if the job is in one of `from`; returns the previous status and the job, or null. */
  transition(id: string, t: TransitionInput): Promise<{ previous: JobStatus; job: StoredJob } | null>;
  transitions(id: string): Promise<StoredTransition[]>;
  /** Progress and heartbeat in one write; phase changes also append an event. */
  recordProgress(id: string, progress: Prisma.InputJsonValue, phase?: JobPhase): Promise<void>;
  /**
   * Marks the job alive and returns its status; with `attempt`, only while that attempt holds it
   * (PREPARING, RUNNING, CANCELLING): null otherwise (and for a missing job).
   */
  heartbeat(id: string, workerId: string, attempt?: number): Promise<JobStatus | null>;
  appendEvents(id: string, events: { type: string; data: Prisma.InputJsonValue }[]): Promise<void>;
  eventsAfter(id: string, afterId: bigint, limit: number): Promise<StoredEvent[]>;
  insertMetrics(id: string, rows: { name: string; value: number; step: number; epoch: number; shard?: number | null }[]): Promise<void>;
  /** Drops the metric points of names starting with `namePrefix` past `afterEpoch` (1-based epochs; a resumed attempt redoes them). */
  deleteMetricsAfter(id: string, namePrefix: string, afterEpoch: number): Promise<void>;
  saveReport(id: string, report: Prisma.InputJsonValue): Promise<void>;
  delete(tenantId: string, id: string): Promise<boolean>;
  /** The tenant's model and dataset as a submission checks them (null: no such row for the tenant), in one round trip. */
  submitInputs(tenantId: string, modelId: string, datasetId: string): Promise<{ model: SubmitModel | null; dataset: SubmitDataset | null }>;
  artifactKeys(id: string): Promise<string[]>;
  artifacts(id: string): Promise<StoredArtifact[]>;
  /** Jobs a worker holds (PREPARING, RUNNING, CANCELLING) whose heartbeat is older than `before`. */
  staleJobs(before: Date, limit: number, workerIdPrefix?: string): Promise<StoredJob[]>;
  /** Per metric name: how many points and the latest one (by step, then id). */
  metricSummary(id: string): Promise<{ name: string; count: number; latest: StoredMetric }[]>;
  metricSeries(id: string, name: string, q: { afterId?: bigint; limit: number }): Promise<(StoredMetric & { id: bigint })[]>;
  /** Records (or replaces, on a new attempt) an artifact of the job. */
  putArtifact(id: string, a: { name: string; kind: string; sizeBytes: number; sha256: string; storageKey: string }): Promise<void>;
}

// Event ids come from one sequence at insert time, not at commit. So that a reader following a job's
// events by id (GET /v1/jobs/{id}/events) never passes an id whose transaction commits later, every
// transaction that inserts job_events rows for a job first takes this transaction-scoped advisory lock,
// keyed by the job: one job's event transactions then run one after another, and their ids increase in
// commit order. Take it before any row lock on the job (transition locks the row after it), so two
// writers never wait for each other in opposite orders. The one exception is `create`: a job's first
// event is inserted by the transaction that inserts the job, and no other transaction can insert an event
// for a job before that commits (the foreign key does not see the job until then).
const JOB_EVENT_LOCK_SPACE = 0x71a7; // first key of the two-key advisory lock: this lock's namespace

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** For an interactive transaction: call before its first job_events insert (see above). */
export async function lockJobEvents(tx: Tx, jobId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${JOB_EVENT_LOCK_SPACE}::int, hashtext(${jobId}::text))`;
}

/** The same lock as the first query of a batch transaction (`db.$transaction([...])`). */
export function lockJobEventsQuery(db: Db, jobId: string) {
  return db.$executeRaw`SELECT pg_advisory_xact_lock(${JOB_EVENT_LOCK_SPACE}::int, hashtext(${jobId}::text))`;
}

/** A `metric` event: the batch of points just stored, and their epoch when they share one. */
function metricEventData(points: { name: string; value: number; step: number; epoch: number; shard: number | null }[]): Prisma.InputJsonValue {
  const epochs = new Set(points.map((p) => p.epoch));
  return { ...(epochs.size === 1 ? { epoch: points[0]!.epoch } : {}), points };
}

const transitionEvent = (previous: JobStatus | null, job: StoredJob, message?: string) => ({
  type: 'transition',
  data: { from: previous, to: job.status, phase: job.phase, attempt: job.attempt, ...(message ? { message } : {}), ...(job.errorCode ? { error: { code: job.errorCode, message: job.errorMessage } } : {}) },
});

// Every column of the job (new columns included, as Prisma's own reads return them) and its transitions
// as one JSON array; the uuid casts make a malformed id a query error rather than a silent miss.
const JOB_WITH_TRANSITIONS_SQL = `
  SELECT j.*, COALESCE((
    SELECT json_agg(json_build_object('fromStatus', t.from_status, 'toStatus', t.to_status, 'phase', t.phase, 'message', t.message, 'at', t.at) ORDER BY t.id)
    FROM job_transitions t WHERE t.job_id = j.id), '[]'::json) AS transitions
  FROM jobs j WHERE j.id = $1::uuid AND j.tenant_id = $2::uuid`;

const camelNames = new Map<string, string>();

// A new job (QUEUED, attempt 1: the column defaults), its first transition and that transition's event
// (the data transitionEvent(null, job, 'submitted') gives), as one statement. No event lock: no other
// transaction can insert an event for a job before the one inserting the job commits.
const CREATE_JOB_SQL = `
  WITH job AS (
    INSERT INTO jobs (id, tenant_id, model_id, dataset_id, config, idempotency_key, request_hash, updated_at)
    VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::jsonb, $6, $7, now())
    RETURNING *
  ), transition AS (
    INSERT INTO job_transitions (job_id, from_status, to_status, message, at)
    SELECT id, NULL, status, 'submitted', created_at FROM job
  ), event AS (
    INSERT INTO job_events (job_id, type, data, at)
    SELECT id, 'transition', jsonb_build_object('from', NULL, 'to', status, 'phase', phase, 'attempt', attempt, 'message', 'submitted'), created_at FROM job
  )
  SELECT * FROM job`;

// A job's model and dataset rows (only the columns a submission checks), one JSON object each or null.
const SUBMIT_INPUTS_SQL = `
  SELECT
    (SELECT json_build_object('name', m.name, 'format', m.format, 'input_shape', m.input_shape, 'layers', m.layers)
       FROM models m WHERE m.id = $1::uuid AND m.tenant_id = $3::uuid) AS model,
    (SELECT json_build_object('task', d.task, 'features', d.features, 'classes', d.classes, 'sample_shape', d.options -> 'sample_shape')
       FROM datasets d WHERE d.id = $2::uuid AND d.tenant_id = $3::uuid) AS dataset`;

const numbers = (v: unknown): number[] | null => (Array.isArray(v) && v.every((n) => typeof n === 'number') ? (v as number[]) : null);

/** A models row's submission facts; `layers` is modelRepository's ModelRecordInfo (older rows may lack parts). */
function submitModel(r: Record<string, unknown>): SubmitModel {
  const info = (r.layers && typeof r.layers === 'object' && !Array.isArray(r.layers) ? r.layers : {}) as {
    output_shape?: unknown;
    output_activation?: unknown;
    unsupported_layers?: { name: string; class_name: string; reason: string }[];
    zoo?: { name: string; width: number };
  };
  return {
    name: String(r.name),
    format: String(r.format),
    inputShape: numbers(r.input_shape),
    outputShape: numbers(info.output_shape),
    outputActivation: typeof info.output_activation === 'string' ? info.output_activation : null,
    unsupportedLayers: Array.isArray(info.unsupported_layers) ? info.unsupported_layers.map((l) => ({ name: l.name, className: l.class_name, reason: l.reason })) : [],
    zoo: info.zoo ?? null,
  };
}

function submitDataset(r: Record<string, unknown>): SubmitDataset {
  return { task: String(r.task), features: Number(r.features), classes: r.classes === null ? null : Number(r.classes), sampleShape: numbers(r.sample_shape) };
}

/** snake_case columns as the camelCase fields Prisma maps them to (`error_code` → `errorCode`). */
function camelRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in row) {
    let name = camelNames.get(k);
    if (name === undefined) camelNames.set(k, (name = k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())));
    out[name] = row[k];
  }
  return out;
}

export function jobRepository(db: Db): JobRepository {
  const jobReads = new FreshReadBatcher<{ job: StoredJob; transitions: StoredTransition[] } | null>();
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
      const pool = sqlPool(db);
      try {
        if (pool) {
          // The job, its first transition and that transition's event in one statement (one round trip,
          // one commit) on node-postgres: the submission path's write.
          const values = [randomUUID(), data.tenantId, data.modelId, data.datasetId, JSON.stringify(data.config), data.idempotencyKey, data.requestHash];
          const result = await pool.query({ name: 'qat_create_job', text: CREATE_JOB_SQL, values }).catch((err: unknown) => {
            throw mapDbError(err);
          });
          return { job: camelRow(result.rows[0] as Record<string, unknown>) as unknown as StoredJob, created: true };
        }
        return await db.$transaction(async (tx) => {
          const job = (await tx.job.create({ data })) as StoredJob;
          await tx.jobTransition.create({ data: { jobId: job.id, fromStatus: null, toStatus: job.status, message: 'submitted' } });
          await tx.jobEvent.create({ data: { jobId: job.id, ...transitionEvent(null, job, 'submitted') } as Prisma.JobEventUncheckedCreateInput });
          return { job, created: true };
        });
      } catch (err) {
        // A concurrent request with the same idempotency key won the race: answer with its job.
        const code = (err as { code?: string }).code;
        if (input.idempotencyKey && (code === 'P2002' || code === '23505')) {
          const job = await db.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey } } });
          if (job) return { job: job as StoredJob, created: false };
        }
        throw err;
      }
    },
    find: async (tenantId, id) => (await db.job.findFirst({ where: { id, tenantId } })) as StoredJob | null,
    async findWithTransitions(tenantId, id) {
      // The hot read of GET /v1/jobs/{id}: one statement on node-postgres (see sqlPool), not two Prisma queries.
      const pool = sqlPool(db);
      if (!pool) {
        const job = (await db.job.findFirst({ where: { id, tenantId } })) as StoredJob | null;
        const transitions = job ? await db.jobTransition.findMany({ where: { jobId: id }, orderBy: { id: 'asc' }, select: { fromStatus: true, toStatus: true, phase: true, message: true, at: true } }) : [];
        return job ? { job, transitions: transitions as StoredTransition[] } : null;
      }
      // Clients polling the same job share queries, never a snapshot older than their request (freshReads.ts).
      return jobReads.get(`${tenantId}/${id}`, async () => {
        const result = await pool.query({ name: 'qat_job_with_transitions', text: JOB_WITH_TRANSITIONS_SQL, values: [id, tenantId] }).catch((err: unknown) => {
          throw mapDbError(err);
        });
        const row = result.rows[0] as Record<string, unknown> | undefined;
        if (!row) return null;
        const { transitions, ...columns } = row;
        return {
          job: camelRow(columns) as unknown as StoredJob,
          transitions: (transitions as (Omit<StoredTransition, 'at'> & { at: string })[]).map((t) => ({ ...t, at: new Date(t.at) })),
        };
      });
    },
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
        await lockJobEvents(tx, id); // before the row lock, as every event writer does (see lockJobEvents)
        const locked = await tx.$queryRaw<{ status: JobStatus; attempt: number }[]>`SELECT status::text AS status, attempt FROM jobs WHERE id = ${id}::uuid FOR UPDATE`;
        const previous = locked[0]?.status;
        if (!previous || !t.from.includes(previous)) return null;
        if (t.attempt !== undefined && locked[0]!.attempt !== t.attempt) return null;
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
            ...(t.failures === 'count' ? { failedAttempts: { increment: 1 } } : t.failures === 'reset' ? { failedAttempts: 0 } : {}),
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
        lockJobEventsQuery(db, id),
        db.job.update({ where: { id }, data: { progress, heartbeatAt: new Date(), ...(phase ? { phase } : {}) } }),
        db.jobEvent.create({ data: { jobId: id, type: 'progress', data: { ...(progress as object), ...(phase ? { phase } : {}) } } }),
      ]);
    },
    async heartbeat(id, workerId, attempt) {
      // One statement: the beat, and what the worker needs to know next (a cancel, or that it lost the job).
      const now = new Date();
      const rows =
        attempt === undefined
          ? await db.$queryRaw<{ status: JobStatus }[]>`
              UPDATE jobs SET heartbeat_at = ${now}, updated_at = ${now}, worker_id = ${workerId} WHERE id = ${id}::uuid RETURNING status::text AS status`
          : await db.$queryRaw<{ status: JobStatus }[]>`
              UPDATE jobs SET heartbeat_at = ${now}, updated_at = ${now}, worker_id = ${workerId}
              WHERE id = ${id}::uuid AND attempt = ${attempt} AND status IN ('PREPARING', 'RUNNING', 'CANCELLING') RETURNING status::text AS status`;
      return rows[0]?.status ?? null;
    },
    async appendEvents(id, events) {
      if (events.length) await db.$transaction([lockJobEventsQuery(db, id), db.jobEvent.createMany({ data: events.map((e) => ({ jobId: id, type: e.type, data: e.data })) })]);
    },
    eventsAfter: (id, afterId, limit) =>
      db.jobEvent.findMany({ where: { jobId: id, id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit, select: { id: true, type: true, data: true, at: true } }) as Promise<StoredEvent[]>,
    async insertMetrics(id, rows) {
      if (!rows.length) return;
      const points = rows.map((r) => ({ name: r.name, value: r.value, step: r.step, epoch: r.epoch, shard: r.shard ?? null }));
      // The points and their `metric` event commit together: a stream never announces a point that is not stored.
      await db.$transaction([
        lockJobEventsQuery(db, id),
        db.metric.createMany({ data: points.map((p) => ({ jobId: id, ...p })) }),
        db.jobEvent.create({ data: { jobId: id, type: 'metric', data: metricEventData(points) } }),
      ]);
    },
    async deleteMetricsAfter(id, namePrefix, afterEpoch) {
      await db.metric.deleteMany({ where: { jobId: id, name: { startsWith: namePrefix }, epoch: { gt: afterEpoch } } });
    },
    async saveReport(id, report) {
      await db.job.update({ where: { id }, data: { report } });
    },
    async delete(tenantId, id) {
      const { count } = await db.job.deleteMany({ where: { id, tenantId } });
      return count === 1;
    },
    async submitInputs(tenantId, modelId, datasetId) {
      const pool = sqlPool(db);
      let rows: { model: Record<string, unknown> | null; dataset: Record<string, unknown> | null }[];
      if (pool) {
        rows = (await pool.query({ name: 'qat_submit_inputs', text: SUBMIT_INPUTS_SQL, values: [modelId, datasetId, tenantId] }).catch((err: unknown) => {
          throw mapDbError(err);
        })).rows;
      } else {
        rows = await db.$queryRawUnsafe(SUBMIT_INPUTS_SQL, modelId, datasetId, tenantId);
      }
      const { model, dataset } = rows[0] ?? { model: null, dataset: null };
      return { model: model ? submitModel(model) : null, dataset: dataset ? submitDataset(dataset) : null };
    },
    staleJobs: async (before, limit, workerIdPrefix) =>
      (await db.job.findMany({
        where: {
          status: { in: ['PREPARING', 'RUNNING', 'CANCELLING'] },
          OR: [{ heartbeatAt: { lt: before } }, { heartbeatAt: null, updatedAt: { lt: before } }],
          ...(workerIdPrefix ? { workerId: { startsWith: workerIdPrefix } } : {}),
        },
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

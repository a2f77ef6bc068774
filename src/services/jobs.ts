// The job use cases behind /v1/jobs: submit (idempotent), read, list, cancel, retry, delete. Postgres
// holds the truth; the queue only carries (job id, attempt), and every status change goes through the
// repository's locked transition so API and workers cannot overwrite each other.
import { createHash } from 'node:crypto';
import type { JobPage, JobRepository, StoredJob, StoredTransition } from '../db/jobRepository.js';

export type { StoredJob, StoredTransition };
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { TrainQueue } from '../queue/trainQueue.js';
import type { BlobStore } from '../storage/blobStore.js';
import { submitCompatibilityProblems } from './jobCompatibility.js';
import { isTerminal, type JobStatusName, sourcesOf } from './jobLifecycle.js';
import { checkpointKey } from './jobRuns.js';
import { decodePageToken, encodePageToken } from './pageToken.js';
import { resolveRunConfig, type RunConfig } from './runConfig.js';

export interface SubmitJob {
  model_id: string;
  dataset_id: string;
  config?: unknown;
}

export interface ListJobsQuery {
  status?: JobStatusName[];
  created_after?: string;
  created_before?: string;
  page_size?: number;
  page_token?: string;
}

/** Told about lifecycle events (webhooks); failures to notify never fail the request. */
export interface JobNotifier {
  emit(tenantId: string, event: string, payload: Record<string, unknown>): Promise<void>;
}

/** Checks a job's model against its dataset before it is queued (input shape, classes); throws a ValidationError. */
export type CompatibilityCheck = (tenantId: string, modelId: string, datasetId: string, config: RunConfig) => Promise<void>;

/** Canonical JSON (sorted keys) so the same request hashes the same whatever its key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export class JobService {
  constructor(
    private readonly deps: {
      jobs: JobRepository;
      queue: TrainQueue;
      store: BlobStore;
      notifier?: JobNotifier;
      checkCompatibility?: CompatibilityCheck;
    },
  ) {}

  async submit(tenantId: string, body: SubmitJob, idempotencyKey?: string): Promise<{ job: StoredJob; created: boolean }> {
    const config = resolveRunConfig(body.config ?? {});
    const requestHash = createHash('sha256').update(canonical({ model_id: body.model_id, dataset_id: body.dataset_id, config })).digest('hex');
    if (idempotencyKey) {
      const existing = await this.deps.jobs.findByIdempotencyKey(tenantId, idempotencyKey);
      if (existing) return this.replay(existing, requestHash);
    }
    await this.checkInputs(tenantId, body, config);
    const result = await this.deps.jobs.create({ tenantId, modelId: body.model_id, datasetId: body.dataset_id, config, requestHash, ...(idempotencyKey ? { idempotencyKey } : {}) });
    if (!result.created) return this.replay(result.job, requestHash); // a concurrent request with the same key won
    await this.afterCreate(tenantId, result.job);
    return result;
  }

  /** The model and dataset exist for the tenant and fit each other (422 naming `model_id` with MODEL_INCOMPATIBLE otherwise). */
  private async checkInputs(tenantId: string, body: SubmitJob, config: RunConfig): Promise<void> {
    const { model, dataset } = await this.deps.jobs.submitInputs(tenantId, body.model_id, body.dataset_id);
    const missing = [
      ...(model ? [] : [{ field: 'model_id', reason: `no model ${body.model_id} (upload it with POST /v1/models)` }]),
      ...(dataset ? [] : [{ field: 'dataset_id', reason: `no dataset ${body.dataset_id} (upload it with POST /v1/datasets)` }]),
    ];
    if (missing.length || !model || !dataset) throw new ValidationError(missing);
    const problems = submitCompatibilityProblems(model, dataset, config);
    if (problems.length) throw new ValidationError(problems, undefined, 'MODEL_INCOMPATIBLE');
    await this.deps.checkCompatibility?.(tenantId, body.model_id, body.dataset_id, config);
  }

  private replay(job: StoredJob, requestHash: string): { job: StoredJob; created: boolean } {
    if (job.requestHash !== requestHash) {
      throw new ValidationError([{ field: 'Idempotency-Key', reason: 'was already used with a different request body' }], undefined, 'IDEMPOTENCY_KEY_REUSED');
    }
    return { job, created: false };
  }

  private async afterCreate(tenantId: string, job: StoredJob): Promise<void> {
    await this.deps.queue.enqueue({ jobId: job.id, attempt: job.attempt });
    await this.notify(tenantId, 'job.queued', job);
  }

  private async notify(tenantId: string, event: string, job: StoredJob): Promise<void> {
    await this.deps.notifier?.emit(tenantId, event, { job_id: job.id, status: job.status, attempt: job.attempt }).catch(() => undefined);
  }

  async get(tenantId: string, id: string): Promise<{ job: StoredJob; transitions: StoredTransition[] }> {
    const found = await this.deps.jobs.findWithTransitions(tenantId, id);
    if (!found) throw new NotFoundError('job', id);
    return found;
  }

  async list(tenantId: string, q: ListJobsQuery): Promise<{ items: StoredJob[]; next_page_token: string | null }> {
    const date = (field: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) throw new ValidationError([{ field, reason: `must be an ISO 8601 date-time, got '${v}'` }]);
      return d;
    };
    const createdAfter = date('created_after', q.created_after);
    const createdBefore = date('created_before', q.created_before);
    const page: JobPage = await this.deps.jobs.list(tenantId, {
      ...(q.status ? { status: q.status } : {}),
      ...(createdAfter ? { createdAfter } : {}),
      ...(createdBefore ? { createdBefore } : {}),
      limit: q.page_size ?? 20,
      ...(q.page_token ? { after: decodePageToken(q.page_token) } : {}),
    });
    return { items: page.items, next_page_token: page.next ? encodePageToken(page.next) : null };
  }

  /** 202 semantics: a queued job is cancelled at once; a running one moves to CANCELLING and its worker stops it. */
  async cancel(tenantId: string, id: string): Promise<StoredJob> {
    const { job } = await this.get(tenantId, id);
    if (isTerminal(job.status)) throw new ConflictError(`job ${id} is already ${job.status}`, 'JOB_TERMINAL');
    if (job.status === 'CANCELLING') return job;
    const moved = await this.deps.jobs.transition(id, { to: 'CANCELLING', from: sourcesOf('CANCELLING'), message: 'cancel requested' });
    if (!moved) return this.cancel(tenantId, id); // it moved meanwhile: decide again from its new status
    if (moved.previous === 'QUEUED' && (await this.deps.queue.removeWaiting({ jobId: id, attempt: job.attempt }))) {
      const done = await this.deps.jobs.transition(id, { to: 'CANCELLED', from: ['CANCELLING'], message: 'cancelled before a worker took it' });
      if (done) {
        await this.notify(tenantId, 'job.cancelled', done.job);
        return done.job;
      }
    }
    return moved.job;
  }

  async retry(tenantId: string, id: string): Promise<StoredJob> {
    const { job } = await this.get(tenantId, id);
    if (job.status !== 'FAILED' && job.status !== 'CANCELLED') throw new ConflictError(`only a FAILED or CANCELLED job can be retried; job ${id} is ${job.status}`, 'JOB_NOT_RETRYABLE');
    // A retry starts afresh: no checkpoint of the earlier attempts, and a full retry budget.
    await this.deps.store.deletePrefix(checkpointKey(id));
    const moved = await this.deps.jobs.transition(id, { to: 'QUEUED', from: ['FAILED', 'CANCELLED'], nextAttempt: true, failures: 'reset', error: null, phase: null, message: 'retry requested' });
    if (!moved) throw new ConflictError(`job ${id} changed state; read it and try again`, 'JOB_STATE_CHANGED');
    await this.afterCreate(tenantId, moved.job);
    return moved.job;
  }

  /** Terminal jobs only; their artifacts go with them. */
  async delete(tenantId: string, id: string): Promise<void> {
    const { job } = await this.get(tenantId, id);
    if (!isTerminal(job.status)) throw new ConflictError(`job ${id} is ${job.status}; cancel it before deleting`, 'JOB_NOT_TERMINAL');
    await this.deps.store.deletePrefix(`jobs/${id}/`);
    await this.deps.jobs.delete(tenantId, id);
  }
}

// The worker's side of a job: claim an attempt, read its inputs, report progress and heartbeats, record
// artifacts, and finish it — each move through the same locked transitions the API uses, so a cancel
// from the API and a result from a worker cannot overwrite each other. Moves a worker makes for one
// attempt are conditional on that attempt still holding the job.
//
// Retries: an attempt that fails for an infrastructure reason (its training process crashed, a
// dependency did not answer, an unexpected error) or whose worker was lost goes back to QUEUED as the next
// attempt after an exponential backoff, until JOB_MAX_ATTEMPTS such failures; bad input fails at once. A
// hand-over at worker shutdown also starts the next attempt but spends nothing of that budget.
import type { DatasetRepository, StoredDataset } from '../db/datasetRepository.js';
import type { JobRepository, StoredJob } from '../db/jobRepository.js';

type Json = Parameters<JobRepository['saveReport']>[1];
import type { ModelRepository, StoredModel } from '../db/modelRepository.js';
import { AppError, DependencyUnavailableError, NotFoundError, ValidationError } from '../errors/index.js';
import type { TrainQueue } from '../queue/trainQueue.js';
import type { BlobStore } from '../storage/blobStore.js';

type Phase = NonNullable<StoredJob['phase']>;

export interface JobInputs {
  job: StoredJob;
  dataset: StoredDataset;
  model: StoredModel;
}

/** Told about lifecycle events (webhooks); the same shape as the API's JobNotifier. */
export interface RunNotifier {
  emit(tenantId: string, event: string, payload: Record<string, unknown>): Promise<void>;
}

/** How attempts that failed for an infrastructure reason are retried. */
export interface RetryPolicy {
  /** Failed or lost attempts a job may have; the last one fails it (JOB_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Delay before the first retry, doubled for each further failure (JOB_RETRY_BACKOFF_MS). */
  backoffMs: number;
  /** Longest delay (default MAX_RETRY_BACKOFF_MS, never below `backoffMs`). */
  maxBackoffMs?: number;
}

/** Why an attempt failed: `retryable` = an infrastructure failure (another attempt may succeed), else bad input. */
export interface AttemptFailure {
  code: string;
  message: string;
  retryable: boolean;
}

export type FailedAttemptOutcome =
  | { outcome: 'retrying'; attempt: number; delayMs: number }
  | { outcome: 'failed'; code: string; message: string }
  | { outcome: 'cancelled' }
  /** The attempt no longer holds the job (taken over, or finished meanwhile): nothing was changed. */
  | { outcome: 'gone' };

export type HandOverOutcome = { outcome: 'requeued'; attempt: number } | { outcome: 'cancelled' } | { outcome: 'gone' };

/** Retry delays stop doubling here (10 minutes). */
export const MAX_RETRY_BACKOFF_MS = 600_000;

/** Where a job's training checkpoint lives in the blob store: one per job, replaced at each save. */
export const checkpointKey = (jobId: string): string => `jobs/${jobId}/checkpoint.bin`;

/** Every data-parallel round folder of a job (all attempts): removed once the job has ended. */
export const roundsPrefix = (jobId: string): string => `jobs/${jobId}/rounds/`;

/** The delay before the retry that follows the `failures`-th failed attempt (1-based): base, 2×base, 4×base … capped. */
export function retryDelayMs(failures: number, policy: Pick<RetryPolicy, 'backoffMs' | 'maxBackoffMs'>): number {
  const cap = Math.max(policy.backoffMs, policy.maxBackoffMs ?? MAX_RETRY_BACKOFF_MS);
  return Math.min(cap, policy.backoffMs * 2 ** Math.max(0, failures - 1));
}

/** "5 s", "1.5 s", "2 min": how long a delay is, for transition messages. */
export function formatDelay(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}

const HELD = ['PREPARING', 'RUNNING'] as const;

export class JobRunService {
  constructor(
    private readonly deps: {
      jobs: JobRepository;
      datasets: DatasetRepository;
      models: ModelRepository;
      notifier?: RunNotifier;
      queue?: TrainQueue;
      /** Where a job's round files are removed when it ends failed or cancelled. */
      store?: BlobStore;
    },
  ) {}

  /**
   * Marks the job alive for this attempt, and says what its worker must do next: carry on (`held`), stop
   * it (`cancelling`: the API asked), leave it be (`finished`: the attempt ended it meanwhile), or stop
   * at once without touching it (`taken-over`: another attempt holds it, this worker was presumed lost).
   */
  async heartbeat(jobId: string, workerId: string, attempt: number): Promise<'held' | 'cancelling' | 'finished' | 'taken-over'> {
    const status = await this.deps.jobs.heartbeat(jobId, workerId, attempt);
    if (status === 'CANCELLING') return 'cancelling';
    if (status) return 'held';
    const job = await this.deps.jobs.findById(jobId);
    return job && job.attempt === attempt && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status) ? 'finished' : 'taken-over';
  }

  /**
   * Takes jobs back from workers that stopped beating (killed, machine lost): a lost attempt spends the
   * retry budget like a failed one, so the job is queued again as the next attempt after the backoff, or
   * fails with WORKER_LOST once `maxAttempts` attempts failed or were lost; a job being cancelled ends
   * CANCELLED. Safe to run on every worker at once: each move is a locked, conditional transition.
   * `workerIdPrefix` limits it to the workers of one queue prefix (worker ids start with it), so
   * deployments sharing a database but not their queues never requeue each other's jobs.
   */
  async reapStale(o: { timeoutMs: number; workerIdPrefix?: string } & RetryPolicy): Promise<{ requeued: string[]; failed: string[]; cancelled: string[] }> {
    const out = { requeued: [] as string[], failed: [] as string[], cancelled: [] as string[] };
    for (const job of await this.deps.jobs.staleJobs(new Date(Date.now() - o.timeoutMs), 100, o.workerIdPrefix)) {
      const silent = `no heartbeat from worker ${job.workerId ?? '?'} for over ${Math.round(o.timeoutMs / 1000)} s`;
      if (job.status === 'CANCELLING') {
        const moved = await this.deps.jobs.transition(job.id, { to: 'CANCELLED', from: ['CANCELLING'], attempt: job.attempt, message: silent });
        if (moved) {
          out.cancelled.push(job.id);
          await this.ended(moved.job, 'job.cancelled');
        }
        continue;
      }
      const r = await this.afterFailure(job, { code: 'WORKER_LOST', message: silent, retryable: true }, o);
      if (r.outcome === 'retrying') out.requeued.push(job.id);
      else if (r.outcome === 'failed') out.failed.push(job.id);
      else if (r.outcome === 'cancelled') out.cancelled.push(job.id);
    }
    return out;
  }

  /**
   * A job ended failed or cancelled: a data-parallel round its training process left in flight (killed,
   * or given up on) has nobody left to remove its files. (A job that succeeds has them removed by its
   * last attempt, src/workers/training/attempt.ts.)
   */
  private async ended(job: StoredJob, event: 'job.failed' | 'job.cancelled'): Promise<void> {
    await this.deps.store?.deletePrefix(roundsPrefix(job.id)).catch(() => undefined);
    await this.notify(job, event);
  }

  private async notify(job: StoredJob, event: string): Promise<void> {
    await this.deps.notifier
      ?.emit(job.tenantId, event, {
        job_id: job.id,
        status: job.status,
        phase: job.phase,
        attempt: job.attempt,
        model_id: job.modelId,
        dataset_id: job.datasetId,
        ...(job.errorCode ? { error: { code: job.errorCode, message: job.errorMessage } } : {}),
      })
      .catch(() => undefined);
  }

  private async inputsOf(job: StoredJob): Promise<JobInputs> {
    const [dataset, model] = await Promise.all([this.deps.datasets.find(job.tenantId, job.datasetId), this.deps.models.find(job.tenantId, job.modelId)]);
    if (!dataset) throw new NotFoundError('dataset', job.datasetId);
    if (!model) throw new NotFoundError('model', job.modelId);
    return { job, dataset, model };
  }

  /** QUEUED → PREPARING for this attempt; null when the attempt is stale (cancelled, retried, already taken). */
  async claim(jobId: string, attempt: number, workerId: string): Promise<StoredJob | null> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'PREPARING', from: ['QUEUED'], attempt, workerId, message: `worker ${workerId}` });
    return moved?.job ?? null;
  }

  /** The inputs of a claimed attempt (read again by its training process); null once the attempt no longer holds the job. */
  async inputs(jobId: string, attempt: number): Promise<JobInputs | null> {
    const job = await this.deps.jobs.findById(jobId);
    if (!job || job.attempt !== attempt || !['PREPARING', 'RUNNING', 'CANCELLING'].includes(job.status)) return null;
    return this.inputsOf(job);
  }

  /** PREPARING → RUNNING; false when the job left PREPARING meanwhile (a cancel) or another attempt holds it. */
  async start(jobId: string, o: { attempt?: number; message?: string } = {}): Promise<boolean> {
    const moved = await this.deps.jobs.transition(jobId, {
      to: 'RUNNING',
      from: ['PREPARING'],
      phase: 'VALIDATING',
      ...(o.attempt !== undefined ? { attempt: o.attempt } : {}),
      ...(o.message ? { message: o.message } : {}),
    });
    if (moved) await this.notify(moved.job, 'job.started');
    return moved !== null;
  }

  /** Progress, phase and heartbeat in one write (callers throttle it). */
  async progress(jobId: string, progress: Record<string, unknown>, phase?: Phase): Promise<void> {
    await this.deps.jobs.recordProgress(jobId, progress as Json, phase);
  }

  async metrics(jobId: string, rows: { name: string; value: number; step: number; epoch: number; shard?: number | null }[]): Promise<void> {
    await this.deps.jobs.insertMetrics(jobId, rows);
  }

  /** Before a resumed attempt redoes epochs: drops the points an earlier attempt recorded past its checkpoint. */
  async discardMetricsAfter(jobId: string, namePrefix: string, afterEpoch: number): Promise<void> {
    await this.deps.jobs.deleteMetricsAfter(jobId, namePrefix, afterEpoch);
  }

  /** True once the API asked to cancel (the worker then stops and calls `cancelled`). */
  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.deps.jobs.findById(jobId))?.status === 'CANCELLING';
  }

  async artifact(jobId: string, a: { name: string; kind: string; sizeBytes: number; sha256: string; storageKey: string }): Promise<void> {
    await this.deps.jobs.putArtifact(jobId, a);
  }

  /** RUNNING → SUCCEEDED with the report; false (nothing saved) when the job left RUNNING meanwhile (a cancel). */
  async succeed(jobId: string, report: Record<string, unknown>, attempt?: number): Promise<boolean> {
    const moved = await this.deps.jobs.transition(jobId, {
      to: 'SUCCEEDED',
      from: ['RUNNING'],
      phase: null,
      message: 'done',
      report: report as Json,
      ...(attempt !== undefined ? { attempt } : {}),
    });
    if (!moved) return false;
    await this.notify(moved.job, 'job.succeeded');
    return true;
  }

  /** Fails the job for good (bad input), whatever its retry budget. */
  async fail(jobId: string, error: { code: string; message: string }, attempt?: number): Promise<void> {
    const moved = await this.deps.jobs.transition(jobId, {
      to: 'FAILED',
      from: ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING'],
      error,
      message: error.message,
      failures: 'count',
      ...(attempt !== undefined ? { attempt } : {}),
    });
    if (moved) await this.ended(moved.job, 'job.failed');
  }

  /**
   * An attempt ended in a failure: bad input fails the job; an infrastructure failure queues the next
   * attempt after the backoff (delayed in the queue) unless this was the `maxAttempts`-th failed attempt,
   * which fails the job with the failure's code. A job being cancelled ends CANCELLED instead.
   */
  async attemptFailed(jobId: string, attempt: number, failure: AttemptFailure, policy: RetryPolicy): Promise<FailedAttemptOutcome> {
    const job = await this.deps.jobs.findById(jobId);
    if (!job || job.attempt !== attempt) return { outcome: 'gone' };
    return this.afterFailure(job, failure, policy);
  }

  private async afterFailure(job: StoredJob, failure: AttemptFailure, policy: RetryPolicy): Promise<FailedAttemptOutcome> {
    if (job.status === 'CANCELLING') {
      return (await this.cancelled(job.id, job.attempt)) ? { outcome: 'cancelled' } : { outcome: 'gone' };
    }
    const failures = job.failedAttempts + 1;
    if (failure.retryable && failures < policy.maxAttempts) {
      const delayMs = retryDelayMs(failures, policy);
      const moved = await this.deps.jobs.transition(job.id, {
        to: 'QUEUED',
        from: HELD,
        attempt: job.attempt,
        nextAttempt: true,
        failures: 'count',
        phase: null,
        workerId: null,
        message: `${failure.code}: ${failure.message}; retrying as attempt ${job.attempt + 1} in ${formatDelay(delayMs)} (${failures} of ${policy.maxAttempts} attempts failed)`,
      });
      if (!moved) return this.afterRefusedMove(job.id, job.attempt);
      await this.deps.queue?.enqueue({ jobId: job.id, attempt: moved.job.attempt }, { delayMs });
      return { outcome: 'retrying', attempt: moved.job.attempt, delayMs };
    }
    const message = failure.retryable && failures > 1 ? `${failure.message} (gave up after ${failures} failed attempts)` : failure.message;
    const moved = await this.deps.jobs.transition(job.id, {
      to: 'FAILED',
      from: HELD,
      attempt: job.attempt,
      failures: 'count',
      error: { code: failure.code, message },
      message,
    });
    if (!moved) return this.afterRefusedMove(job.id, job.attempt);
    await this.ended(moved.job, 'job.failed');
    return { outcome: 'failed', code: failure.code, message };
  }

  /** A worker's move was refused: a cancel that arrived meanwhile still ends the job CANCELLED. */
  private async afterRefusedMove(jobId: string, attempt: number): Promise<{ outcome: 'cancelled' } | { outcome: 'gone' }> {
    return (await this.cancelled(jobId, attempt)) ? { outcome: 'cancelled' } : { outcome: 'gone' };
  }

  /**
   * A stopping worker gives the job back: QUEUED as the next attempt, at once and without spending the
   * retry budget, so another worker continues from the checkpoint (`resumeFrom` says which, if known).
   * `cause` says why (default: "at shutdown").
   */
  async handOver(jobId: string, attempt: number, workerId: string, o: { resumeFrom?: string; cause?: string } = {}): Promise<HandOverOutcome> {
    const moved = await this.deps.jobs.transition(jobId, {
      to: 'QUEUED',
      from: HELD,
      attempt,
      nextAttempt: true,
      phase: null,
      workerId: null,
      message: `handed over by worker ${workerId} ${o.cause ?? 'at shutdown'}; continues as attempt ${attempt + 1}${o.resumeFrom ? ` from its checkpoint at ${o.resumeFrom}` : ''}`,
    });
    if (!moved) return this.afterRefusedMove(jobId, attempt);
    await this.deps.queue?.enqueue({ jobId, attempt: moved.job.attempt });
    return { outcome: 'requeued', attempt: moved.job.attempt };
  }

  /** CANCELLING → CANCELLED; false when the job was not being cancelled (or another attempt holds it). */
  async cancelled(jobId: string, attempt?: number): Promise<boolean> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'CANCELLED', from: ['CANCELLING'], message: 'stopped by its worker', ...(attempt !== undefined ? { attempt } : {}) });
    if (moved) await this.ended(moved.job, 'job.cancelled');
    return moved !== null;
  }
}

/**
 * Why an attempt failed and whether another attempt may succeed. The service's own errors are bad input
 * (INVALID_DATASET, MODEL_INCOMPATIBLE, a missing upload, …: not retried), except an unavailable
 * dependency (Postgres, Redis, the blob store); anything else is unexpected (INTERNAL: disk full, a lost
 * connection, a bug) and retried.
 */
export function classifyFailure(err: unknown): AttemptFailure {
  if (err instanceof DependencyUnavailableError) return { code: err.code, message: err.message, retryable: true };
  if (err instanceof AppError) return { code: err.code, message: err.message, retryable: false };
  return { code: 'INTERNAL', message: `internal error: ${(err as Error)?.message ?? String(err)}`, retryable: true };
}

/** The `{code, message}` a failed job records: the error's own code for the service's errors, INTERNAL otherwise. */
export function failureOf(err: unknown): { code: string; message: string } {
  const { code, message } = classifyFailure(err);
  return { code, message };
}

/** A model that cannot take the job's data (e.g. images too small for a zoo CNN's pooling). */
export const modelIncompatible = (reason: string): ValidationError => new ValidationError([{ field: 'model_id', reason }], undefined, 'MODEL_INCOMPATIBLE');

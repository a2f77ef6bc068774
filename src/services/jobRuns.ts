// The worker's side of a job: claim an attempt, read its inputs, report progress and heartbeats, record
// artifacts, and finish it — each move through the same locked transitions the API uses, so a cancel
// from the API and a result from a worker cannot overwrite each other.
import type { DatasetRepository, StoredDataset } from '../db/datasetRepository.js';
import type { JobRepository, StoredJob } from '../db/jobRepository.js';

type Json = Parameters<JobRepository['saveReport']>[1];
import type { ModelRepository, StoredModel } from '../db/modelRepository.js';
import { AppError, NotFoundError, ValidationError } from '../errors/index.js';
import type { TrainQueue } from '../queue/trainQueue.js';
import type { JobNotifier } from './jobs.js';

type Phase = NonNullable<StoredJob['phase']>;

export interface JobInputs {
  job: StoredJob;
  dataset: StoredDataset;
  model: StoredModel;
}

export class JobRunService {
  constructor(
    private readonly deps: { jobs: JobRepository; datasets: DatasetRepository; models: ModelRepository; notifier?: JobNotifier; queue?: TrainQueue },
  ) {}

  async heartbeat(jobId: string, workerId: string): Promise<void> {
    await this.deps.jobs.heartbeat(jobId, workerId);
  }

  /**
   * Takes jobs back from workers that stopped beating (killed, machine lost): a new attempt is queued,
   * or after `maxAttempts` the job fails with WORKER_LOST; a job being cancelled ends CANCELLED. Safe to
   * run on every worker at once: each move is a locked, conditional transition.
   */
  async reapStale(o: { timeoutMs: number; maxAttempts: number }): Promise<{ requeued: string[]; failed: string[]; cancelled: string[] }> {
    const out = { requeued: [] as string[], failed: [] as string[], cancelled: [] as string[] };
    for (const job of await this.deps.jobs.staleJobs(new Date(Date.now() - o.timeoutMs), 100)) {
      const silent = `no heartbeat from worker ${job.workerId ?? '?'} for over ${Math.round(o.timeoutMs / 1000)} s`;
      if (job.status === 'CANCELLING') {
        if (await this.deps.jobs.transition(job.id, { to: 'CANCELLED', from: ['CANCELLING'], message: silent })) out.cancelled.push(job.id);
        continue;
      }
      if (job.attempt >= o.maxAttempts) {
        const moved = await this.deps.jobs.transition(job.id, { to: 'FAILED', from: ['PREPARING', 'RUNNING'], error: { code: 'WORKER_LOST', message: `${silent}; attempt ${job.attempt} of ${o.maxAttempts}` } });
        if (moved) {
          out.failed.push(job.id);
          await this.notify(moved.job, 'job.failed');
        }
        continue;
      }
      const moved = await this.deps.jobs.transition(job.id, { to: 'QUEUED', from: ['PREPARING', 'RUNNING'], nextAttempt: true, phase: null, workerId: null, message: `${silent}; retrying as attempt ${job.attempt + 1}` });
      if (!moved) continue;
      await this.deps.queue?.enqueue({ jobId: job.id, attempt: moved.job.attempt });
      out.requeued.push(job.id);
    }
    return out;
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

  /** QUEUED → PREPARING for this attempt; null when the attempt is stale (cancelled, retried, already taken). */
  async claim(jobId: string, attempt: number, workerId: string): Promise<JobInputs | null> {
    const job = await this.deps.jobs.findById(jobId);
    if (!job || job.attempt !== attempt) return null;
    const moved = await this.deps.jobs.transition(jobId, { to: 'PREPARING', from: ['QUEUED'], workerId, message: `worker ${workerId}` });
    if (!moved) return null;
    const [dataset, model] = await Promise.all([this.deps.datasets.find(job.tenantId, job.datasetId), this.deps.models.find(job.tenantId, job.modelId)]);
    if (!dataset) throw new NotFoundError('dataset', job.datasetId);
    if (!model) throw new NotFoundError('model', job.modelId);
    return { job: moved.job, dataset, model };
  }

  async start(jobId: string): Promise<boolean> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'RUNNING', from: ['PREPARING'], phase: 'VALIDATING' });
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

  /** True once the API asked to cancel (the worker then stops and calls `cancelled`). */
  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.deps.jobs.findById(jobId))?.status === 'CANCELLING';
  }

  async artifact(jobId: string, a: { name: string; kind: string; sizeBytes: number; sha256: string; storageKey: string }): Promise<void> {
    await this.deps.jobs.putArtifact(jobId, a);
  }

  /** RUNNING → SUCCEEDED with the report; false (nothing saved) when the job left RUNNING meanwhile (a cancel). */
  async succeed(jobId: string, report: Record<string, unknown>): Promise<boolean> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'SUCCEEDED', from: ['RUNNING'], phase: null, message: 'done', report: report as Json });
    if (!moved) return false;
    await this.notify(moved.job, 'job.succeeded');
    return true;
  }

  async fail(jobId: string, error: { code: string; message: string }): Promise<void> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'FAILED', from: ['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING'], error, message: error.message });
    if (moved) await this.notify(moved.job, 'job.failed');
  }

  async cancelled(jobId: string): Promise<void> {
    const moved = await this.deps.jobs.transition(jobId, { to: 'CANCELLED', from: ['CANCELLING'], message: 'stopped by its worker' });
    if (moved) await this.notify(moved.job, 'job.cancelled');
  }
}

/** The `{code, message}` a failed job records: the error's own code for the service's errors, INTERNAL otherwise. */
export function failureOf(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

/** A model that cannot take the job's data (e.g. images too small for a zoo CNN's pooling). */
export const modelIncompatible = (reason: string): ValidationError => new ValidationError([{ field: 'model_id', reason }], undefined, 'MODEL_INCOMPATIBLE');

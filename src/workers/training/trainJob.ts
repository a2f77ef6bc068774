// The BullMQ processor of `qat-train`: one attempt of one job. It claims the attempt, loads the inputs,
// runs the same pipeline as `qat run` with artifacts going to the blob store, reports progress
// (throttled), per-epoch metrics and heartbeats, stops within a poll interval of a cancel, and finishes
// the job. Invalid inputs fail the job with their code and are not retried (UnrecoverableError).
import { UnrecoverableError, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { ComparisonAbortedError, type Phase } from '../../core/pipeline/compare.js';
import type { EpochLog } from '../../core/train/callbacks.js';
import type { TrainJobPayload } from '../../queue/names.js';
import { failureOf, type JobRunService } from '../../services/jobRuns.js';
import { resolveRunConfig } from '../../services/runConfig.js';
import type { BlobStore } from '../../storage/blobStore.js';
import { runPipeline } from '../pipeline/runPipeline.js';
import type { ArtifactSink, PipelineProgress } from '../pipeline/types.js';
import { loadJobData, loadJobModel } from './jobInputs.js';

export interface TrainJobDeps {
  runs: JobRunService;
  store: BlobStore;
  workerId: string;
  backend: string;
  versions: Record<string, string>;
  maxModelParams: number;
  logger: Logger;
  /** How often the job row is read for a cancel request, and progress is written at most. */
  pollMs?: number;
  /** How often the job's heartbeat is written whatever the phase (well under JOB_HEARTBEAT_TIMEOUT_MS). */
  heartbeatMs?: number;
}

const epochMetrics = (phase: string, e: EpochLog, step: number) =>
  (
    [
      ['loss', e.loss],
      ['accuracy', e.accuracy],
      ['mae', e.mae],
      ['val_loss', e.valLoss],
      ['val_accuracy', e.valAccuracy],
      ['val_mae', e.valMae],
    ] as const
  )
    .filter(([, v]) => v !== undefined && Number.isFinite(v))
    .map(([name, value]) => ({ name: `${phase === 'TRAINING_FLOAT' ? 'float' : 'qat'}.${name}`, value: value!, step, epoch: e.epoch + 1 }));

export function trainJobProcessor(d: TrainJobDeps): Processor<TrainJobPayload> {
  const pollMs = d.pollMs ?? 1000;
  return async (bullJob) => {
    const { jobId, attempt } = bullJob.data;
    const log = d.logger.child({ job_id: jobId, attempt });
    const inputs = await d.runs.claim(jobId, attempt, d.workerId);
    if (!inputs) {
      log.info('attempt is stale (cancelled, retried or taken); skipped');
      return 'stale';
    }
    const config = resolveRunConfig(inputs.job.config);
    let pipelineModel: Awaited<ReturnType<typeof loadJobModel>> | undefined;
    // Beats through loading, calibration and export too, not only between training steps.
    const beat = setInterval(() => {
      d.runs.heartbeat(jobId, d.workerId).catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed'));
    }, d.heartbeatMs ?? 10_000);
    try {
      const data = await loadJobData(d.store, inputs.dataset, config);
      pipelineModel = await loadJobModel(d.store, inputs.model, data, config, d.maxModelParams);
      if (!(await d.runs.start(jobId))) throw new ComparisonAbortedError('TRAINING_FLOAT'); // cancelled while preparing

      const abort = new AbortController();
      let phase: Phase | 'EXPORTING' = 'TRAINING_FLOAT';
      let lastWrite = 0;
      let globalStep = 0;
      let writing: Promise<void> = Promise.resolve();
      const epochsOf = (p: typeof phase) => (p === 'TRAINING_FLOAT' ? (config.epochs ?? 0) : p === 'TRAINING_QAT' ? config.qat_epochs : 0);
      const progress: PipelineProgress = {
        phase(p) {
          phase = p;
          writing = writing.then(() => d.runs.progress(jobId, { phase: p }, p)).catch((err: Error) => log.warn({ err: err.message }, 'progress write failed'));
        },
        callbacks: {
          onStepEnd: async (s) => {
            globalStep = s.step;
            const now = performance.now();
            if (now - lastWrite < pollMs) return;
            lastWrite = now;
            await writing;
            if (await d.runs.cancelRequested(jobId)) abort.abort();
            await d.runs.progress(jobId, { phase, epoch: s.epoch + 1, epochs: epochsOf(phase), step: s.step, loss: s.loss, ...(s.accuracy !== undefined ? { accuracy: s.accuracy } : {}) });
            await bullJob.updateProgress({ phase, epoch: s.epoch + 1, step: s.step });
          },
          onEpochEnd: async (e) => {
            await d.runs.metrics(jobId, epochMetrics(phase, e, globalStep));
          },
        },
      };
      const sink: ArtifactSink = {
        async write(name, kind, bytes) {
          const storageKey = `jobs/${jobId}/${name}`;
          const info = await d.store.put(storageKey, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
          await d.runs.artifact(jobId, { name, kind, sizeBytes: info.sizeBytes, sha256: info.sha256, storageKey });
          return { name, kind, size_bytes: info.sizeBytes, sha256: info.sha256 };
        },
      };
      const report = await runPipeline({ data, model: pipelineModel, config, backend: d.backend, sink, progress, versions: d.versions, signal: abort.signal });
      await writing;
      if (!(await d.runs.succeed(jobId, report as unknown as Record<string, unknown>))) {
        // A cancel that arrived after the last training step (while quantizing or exporting) still wins.
        if (await d.runs.cancelRequested(jobId)) throw new ComparisonAbortedError('EVALUATING');
      }
      log.info('job succeeded');
      return 'succeeded';
    } catch (err) {
      if (err instanceof ComparisonAbortedError) {
        await d.runs.cancelled(jobId);
        log.info('job cancelled');
        return 'cancelled';
      }
      const failure = failureOf(err);
      await d.runs.fail(jobId, failure);
      log.warn({ code: failure.code, err: (err as Error).message }, 'job failed');
      throw new UnrecoverableError(failure.message);
    } finally {
      clearInterval(beat);
      pipelineModel?.model.dispose();
    }
  };
}

// One attempt of one job, inside its training process (src/cli/trainChild.ts composes it): reads the
// claimed job's inputs, runs the same pipeline as `qat run` with artifacts going to the blob store, and
// reports progress (throttled), per-epoch metrics, checkpoints and the end of the job. A checkpoint of an
// earlier attempt is taken up, so the job continues where that attempt stopped. The worker process that
// forked it holds the heartbeat and tells it to stop (cancel) or to checkpoint and stop (hand-over).
import type { Logger } from 'pino';
import { CheckpointedStopError, ComparisonAbortedError, type Phase } from '../../core/pipeline/compare.js';
import type { EpochLog } from '../../core/train/callbacks.js';
import { checkpointKey, classifyFailure, type JobRunService, roundsPrefix } from '../../services/jobRuns.js';
import { resolveRunConfig } from '../../services/runConfig.js';
import type { BlobStore } from '../../storage/blobStore.js';
import { runPipeline } from '../pipeline/runPipeline.js';
import type { ArtifactSink, CheckpointInfo, PipelineCheckpoints, PipelineProgress } from '../pipeline/types.js';
import type { RoundFlows } from '../../queue/roundFlows.js';
import { jobDataParallel, roundProgress } from '../shards/jobRounds.js';
import { loadJobData, loadJobModel } from './jobInputs.js';
import { type AttemptRef, type AttemptResult, describeCheckpoint, type TrainingProgress } from './protocol.js';

export interface AttemptDeps {
  runs: JobRunService;
  store: BlobStore;
  ref: AttemptRef;
  backend: string;
  versions: Record<string, string>;
  maxModelParams: number;
  logger: Logger;
  /** Progress is written (and sent to the worker) at most this often; default 1000 ms. */
  progressMs?: number;
  /** Mid-epoch checkpoint period (JOB_CHECKPOINT_INTERVAL_MS). */
  checkpointIntervalMs?: number;
  /** Data-parallel rounds (BullMQ flows), opened when a job has `shards` > 1. */
  rounds?: () => Promise<RoundFlows>;
}

/** How the worker steers the attempt, and where the attempt reports to it. */
export interface AttemptControl {
  /** Aborted when the job is being cancelled. */
  signal: AbortSignal;
  /** True once the worker asked for a hand-over. */
  handoverRequested(): boolean;
  progress(p: TrainingProgress): void;
  checkpointSaved(info: CheckpointInfo): void;
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
    .map(([name, value]) => ({ name: `${metricPrefix(phase)}${name}`, value: value!, step, epoch: e.epoch + 1 }));

const metricPrefix = (phase: string): string => (phase === 'TRAINING_FLOAT' ? 'float.' : 'qat.');

/** The checkpoint an earlier attempt left, if any: as a plain Uint8Array (a store may hand back a node
 *  Buffer, whose slice() shares memory instead of copying as Uint8Array's does). */
async function readCheckpoint(store: BlobStore, jobId: string): Promise<Uint8Array | undefined> {
  const key = checkpointKey(jobId);
  if ((await store.size(key)) === null) return undefined;
  return new Uint8Array(await store.read(key));
}

export async function runAttempt(d: AttemptDeps, c: AttemptControl): Promise<AttemptResult> {
  const { jobId, attempt } = d.ref;
  const log = d.logger;
  let pipelineModel: Awaited<ReturnType<typeof loadJobModel>> | undefined;
  let lastCheckpoint: CheckpointInfo | undefined;
  let closed = false;
  // Aborted by a cancel from the worker, or when the job cannot start (it was cancelled while preparing).
  const abort = new AbortController();
  const onCancel = () => abort.abort();
  c.signal.addEventListener('abort', onCancel);
  // PREPARING → RUNNING. Without a checkpoint it happens before the pipeline starts; with one, when the
  // pipeline says whether it took the checkpoint up (or at its first step), so the transition says so.
  let started: Promise<boolean> | undefined;
  let opened!: () => void;
  const gate = new Promise<void>((resolve) => (opened = resolve));
  const start = (message?: string): Promise<boolean> => {
    if (!started) {
      started = d.runs.start(jobId, { attempt, ...(message ? { message } : {}) }).then((ok) => {
        if (!ok) abort.abort();
        return ok;
      });
      void started.finally(opened).catch(() => undefined);
    }
    return started;
  };
  // Progress writes happen in order, after the start; one that fails is logged, not fatal.
  let writing: Promise<void> = Promise.resolve();
  const write = (what: string, fn: () => Promise<void>): void => {
    writing = writing
      .then(() => gate)
      .then(() => (closed ? undefined : fn()))
      .catch((err: Error) => log.warn({ err: err.message }, `${what} write failed`));
  };

  try {
    const inputs = await d.runs.inputs(jobId, attempt);
    if (!inputs) return { outcome: 'stale' };
    if (inputs.job.status === 'CANCELLING') return { outcome: 'cancelled' };
    const config = resolveRunConfig(inputs.job.config);
    const data = await loadJobData(d.store, inputs.dataset, config);
    pipelineModel = await loadJobModel(d.store, inputs.model, data, config, d.maxModelParams);
    if (c.signal.aborted) return { outcome: 'cancelled' };
    if (c.handoverRequested()) return { outcome: 'handed-over' }; // nothing trained yet: the next attempt starts as this one would
    const resume = await readCheckpoint(d.store, jobId);
    if (!resume && !(await start())) return { outcome: 'cancelled' };

    let phase: Phase | 'EXPORTING' = 'TRAINING_FLOAT';
    let lastWrite = 0;
    // Data-parallel: where each shard stands after the last round, shown in the job's progress.
    let rounds: Record<string, unknown> = {};
    if (config.shards > 1 && !d.rounds) throw new Error('this worker cannot run data-parallel jobs (no round queue)');
    const flows = config.shards > 1 ? await d.rounds!() : undefined;
    let globalStep = 0;
    const progressMs = d.progressMs ?? 1000;
    const epochsOf = (p: typeof phase) => (p === 'TRAINING_FLOAT' ? (config.epochs ?? 0) : p === 'TRAINING_QAT' ? config.qat_epochs : 0);
    const progress: PipelineProgress = {
      phase(p) {
        phase = p;
        write('progress', () => d.runs.progress(jobId, { phase: p }, p));
        c.progress({ phase: p });
      },
      callbacks: {
        onStepEnd: async (s) => {
          globalStep = s.step;
          await start();
          const now = performance.now();
          if (now - lastWrite < progressMs) return;
          lastWrite = now;
          await writing;
          await d.runs.progress(jobId, { phase, epoch: s.epoch + 1, epochs: epochsOf(phase), step: s.step, loss: s.loss, ...(s.accuracy !== undefined ? { accuracy: s.accuracy } : {}), ...rounds });
          c.progress({ phase, epoch: s.epoch + 1, step: s.step });
        },
        onRoundEnd: (r) => {
          rounds = roundProgress(r);
        },
        // After onEpochEnd, which already dropped an earlier attempt's points of this epoch.
        onShardEpochEnd: async (shard, e) => {
          await d.runs.metrics(jobId, epochMetrics(phase, e, globalStep).map((m) => ({ ...m, shard })));
        },
        onEpochEnd: async (e) => {
          await writing;
          // A resumed attempt redoes the epochs after its checkpoint: points an earlier attempt recorded for them go.
          if (attempt > 1) await d.runs.discardMetricsAfter(jobId, metricPrefix(phase), e.epoch);
          await d.runs.metrics(jobId, epochMetrics(phase, e, globalStep));
        },
      },
    };
    const checkpoints: PipelineCheckpoints = {
      ...(resume ? { resume } : {}),
      onResume(r) {
        const message = r.resumed ? `resumed from checkpoint: ${describeCheckpoint(r.info)}` : `checkpoint not used (${r.reason}); training from the start`;
        if (r.resumed) log.info({ checkpoint: r.info }, 'resumed from checkpoint');
        else log.warn({ reason: r.reason }, 'checkpoint not used');
        if (started) write('progress', () => d.runs.progress(jobId, { phase, message }));
        else void start(message);
      },
      async save(bytes, info) {
        await d.store.put(checkpointKey(jobId), bytes);
        lastCheckpoint = info;
        c.checkpointSaved(info);
      },
      handoverRequested: () => c.handoverRequested(),
      ...(d.checkpointIntervalMs !== undefined ? { intervalMs: d.checkpointIntervalMs } : {}),
    };
    const sink: ArtifactSink = {
      async write(name, kind, bytes) {
        const storageKey = `jobs/${jobId}/${name}`;
        const info = await d.store.put(storageKey, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
        await d.runs.artifact(jobId, { name, kind, sizeBytes: info.sizeBytes, sha256: info.sha256, storageKey });
        return { name, kind, size_bytes: info.sizeBytes, sha256: info.sha256 };
      },
    };
    const report = await runPipeline({
      data,
      model: pipelineModel,
      config,
      backend: d.backend,
      sink,
      progress,
      versions: d.versions,
      signal: abort.signal,
      checkpoints,
      ...(flows ? { dataParallel: jobDataParallel({ jobId, attempt, store: d.store, flows, signal: abort.signal }) } : {}),
    });
    if (!(await start())) return { outcome: 'cancelled' };
    await writing;
    if (!(await d.runs.succeed(jobId, report as unknown as Record<string, unknown>, attempt))) {
      // A cancel that arrived after the last training step (while quantizing or exporting) still wins.
      return (await d.runs.cancelRequested(jobId)) ? { outcome: 'cancelled' } : { outcome: 'stale' };
    }
    await d.store.deletePrefix(checkpointKey(jobId)).catch((err: Error) => log.warn({ err: err.message }, 'could not remove the checkpoint of a finished job'));
    // A round in flight when an earlier attempt's training process died has no coordinator left to remove its files.
    await d.store.deletePrefix(roundsPrefix(jobId)).catch((err: Error) => log.warn({ err: err.message }, 'could not remove the round files of a finished job'));
    return { outcome: 'succeeded' };
  } catch (err) {
    if (err instanceof ComparisonAbortedError) return { outcome: 'cancelled' };
    if (err instanceof CheckpointedStopError) return { outcome: 'handed-over', ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) };
    const f = classifyFailure(err);
    log.warn({ code: f.code, err: (err as Error)?.message, retryable: f.retryable }, 'attempt failed');
    return { outcome: 'failed', code: f.code, message: f.message, unrecoverable: !f.retryable };
  } finally {
    closed = true;
    opened();
    c.signal.removeEventListener('abort', onCancel);
    pipelineModel?.model.dispose();
  }
}

// The BullMQ processor of `qat-train`: one attempt of one job. It claims the attempt and forks a training
// process for it (attempt.ts runs there), so training never blocks the worker's event loop: BullMQ's lock
// renewal and the job's heartbeat (every second; it also finds a cancel, or that another attempt took the
// job over) stay here. How the attempt ends decides the job:
//
// - succeeded: the training process has recorded SUCCEEDED;
// - cancelled (the API asked): the process is told, killed if it has not exited within `cancelGraceMs`,
//   and the job ends CANCELLED;
// - handed over (the worker is stopping): the process checkpoints and stops, or is killed after
//   `shutdownGraceMs`; the job goes back to QUEUED as the next attempt, without spending the retry budget,
//   and another worker continues from the checkpoint;
// - failed with bad input (ValidationError codes such as INVALID_DATASET, MODEL_INCOMPATIBLE): FAILED at
//   once, never retried (UnrecoverableError);
// - an infrastructure failure (the process crashed or was killed, e.g. out of memory; a dependency did
//   not answer; an unexpected error): the next attempt is queued after an exponential backoff and
//   continues from the checkpoint, until JOB_MAX_ATTEMPTS failed attempts fail the job with the cause's code.
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { TrainJobPayload } from '../../queue/names.js';
import type { AttemptFailure, JobRunService, RetryPolicy, RunNotifier } from '../../services/jobRuns.js';
import type { CheckpointInfo } from '../pipeline/types.js';
import type { ChildExit, TrainingChild } from './childProcess.js';
import { type AttemptRef, type AttemptResult, describeCheckpoint } from './protocol.js';

export interface TrainerDeps {
  runs: JobRunService;
  workerId: string;
  logger: Logger;
  /** Forks the training process of an attempt and sends it `start`. */
  launch(ref: AttemptRef): TrainingChild;
  /** Where lifecycle events the training process reports go (webhooks). */
  notifier?: RunNotifier;
  retry: RetryPolicy;
  /** How long a hand-over may take before the training process is killed (JOB_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** How often the job's heartbeat is written, which also finds a cancel request (≤ 1 s, well under JOB_HEARTBEAT_TIMEOUT_MS); default 1000 ms. */
  pollMs?: number;
  /** How long a cancelled training process may take to stop before it is killed; default 5000 ms. */
  cancelGraceMs?: number;
}

export interface Trainer {
  processor: Processor<TrainJobPayload>;
  /**
   * The worker is stopping: every running attempt is asked to checkpoint and hand its job over (each
   * within `shutdownGraceMs`), and attempts claimed from now on are handed over at once. Resolves when
   * all have.
   */
  handOver(): Promise<void>;
}

/** What went wrong with a training process that ended without a result. */
export function describeExit(exit: ChildExit): string {
  if (exit.error) return `the training process could not be started: ${exit.error}`;
  if (exit.signal === 'SIGKILL') return 'the training process was killed by SIGKILL (out of memory, or killed from outside)';
  if (exit.signal === 'SIGABRT' || exit.code === 134) return 'the training process aborted (SIGABRT; out of memory?)';
  if (exit.signal) return `the training process was killed by ${exit.signal}`;
  if (exit.code !== 0) return `the training process exited with code ${exit.code}`;
  return 'the training process exited without a result';
}

interface Supervised {
  requestHandover(): void;
  done: Promise<unknown>;
}

export function createTrainer(d: TrainerDeps): Trainer {
  const pollMs = d.pollMs ?? 1000;
  const cancelGraceMs = d.cancelGraceMs ?? 5000;
  const running = new Set<Supervised>();
  let stopping = false;

  async function supervise(bullJob: Job<TrainJobPayload>, ref: AttemptRef, log: Logger, control: { requestHandover(): void }): Promise<string> {
    const { jobId, attempt } = ref;
    let result: AttemptResult | undefined;
    let lastCheckpoint: CheckpointInfo | undefined;
    /** Why this worker stopped the process, if it did. */
    let stop: 'cancel' | 'handover' | 'taken-over' | undefined;
    let killedByUs = false;
    const timers: NodeJS.Timeout[] = [];
    let child: TrainingChild;
    try {
      child = d.launch(ref);
    } catch (err) {
      return settle({ code: null, signal: null, error: (err as Error).message });
    }
    log.info({ child_pid: child.pid }, 'training process started');
    child.onMessage((m) => {
      switch (m.type) {
        case 'progress':
          bullJob.updateProgress(m.progress as unknown as Record<string, unknown>).catch((err: Error) => log.debug({ err: err.message }, 'queue progress update failed'));
          break;
        case 'checkpoint':
          lastCheckpoint = m.info;
          log.debug({ checkpoint: m.info }, 'checkpoint saved');
          break;
        case 'notify':
          d.notifier?.emit(m.tenantId, m.event, m.payload).catch(() => undefined);
          break;
        case 'result':
          result ??= m.result;
          break;
      }
    });
    const killAfter = (ms: number, why: string) =>
      timers.push(
        setTimeout(() => {
          killedByUs = true;
          log.warn({ child_pid: child.pid, after_ms: ms }, `training process did not stop after ${why}; killing it`);
          child.kill('SIGKILL');
        }, ms),
      );
    control.requestHandover = () => {
      if (stop) return;
      stop = 'handover';
      log.info({ child_pid: child.pid, grace_ms: d.shutdownGraceMs }, 'asking the training process to hand its job over');
      child.send({ type: 'handover' });
      killAfter(d.shutdownGraceMs, 'a hand-over request');
    };

    // Every poll: the heartbeat, which also tells whether the job is being cancelled or was taken over.
    let beating = false;
    const tick = setInterval(() => {
      if (beating) return;
      beating = true;
      d.runs
        .heartbeat(jobId, ref.workerId, attempt)
        .then((state) => {
          if (state === 'cancelling' && stop !== 'cancel' && stop !== 'taken-over') {
            stop = 'cancel';
            log.info({ child_pid: child.pid }, 'cancel requested; stopping the training process');
            child.send({ type: 'cancel' });
            killAfter(cancelGraceMs, 'a cancel');
          } else if (state === 'taken-over' && stop !== 'taken-over' && !result) {
            // Another attempt holds the job now (this worker was presumed lost): stop writing to it at once.
            stop = 'taken-over';
            killedByUs = true;
            log.warn({ child_pid: child.pid }, 'the job was taken over by another attempt; killing its training process');
            child.kill('SIGKILL');
          }
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'heartbeat failed'))
        .finally(() => (beating = false));
    }, pollMs);

    const exit = await child.exited;
    clearInterval(tick);
    for (const t of timers) clearTimeout(t);
    return settle(exit);

    async function settle(exit: ChildExit): Promise<string> {
      if (stop === 'taken-over') return 'stale';
      if (result?.outcome === 'succeeded') {
        log.info('job succeeded');
        return 'succeeded';
      }
      if (result?.outcome === 'stale') {
        log.info('attempt no longer holds the job; nothing done');
        return 'stale';
      }
      if (stop === 'cancel' || result?.outcome === 'cancelled') {
        if (await d.runs.cancelled(jobId, attempt)) {
          log.info('job cancelled');
          return 'cancelled';
        }
        if (result?.outcome === 'cancelled') return 'stale';
      }
      if (result?.outcome === 'handed-over' || (stop === 'handover' && killedByUs && !result)) {
        const from = result?.outcome === 'handed-over' ? (result.checkpoint ?? lastCheckpoint) : lastCheckpoint;
        // Without a request from this worker, the training process itself was told to stop (SIGTERM to it).
        const cause = stop === 'handover' ? 'at shutdown' : 'when its training process was stopped (SIGTERM)';
        const r = await d.runs.handOver(jobId, attempt, ref.workerId, { cause, ...(from ? { resumeFrom: describeCheckpoint(from) } : {}) });
        log.info({ outcome: r.outcome, ...(r.outcome === 'requeued' ? { next_attempt: r.attempt } : {}), checkpoint: from ?? null }, 'job handed over');
        return r.outcome === 'requeued' ? 'handed-over' : r.outcome === 'cancelled' ? 'cancelled' : 'stale';
      }
      const failure: AttemptFailure =
        result?.outcome === 'failed' ? { code: result.code, message: result.message, retryable: !result.unrecoverable } : { code: 'WORKER_CRASHED', message: describeExit(exit), retryable: true };
      if (!failure.retryable) {
        await d.runs.fail(jobId, { code: failure.code, message: failure.message }, attempt);
        log.warn({ code: failure.code, err: failure.message }, 'job failed');
        throw new UnrecoverableError(failure.message);
      }
      const r = await d.runs.attemptFailed(jobId, attempt, failure, d.retry);
      switch (r.outcome) {
        case 'retrying':
          log.warn({ code: failure.code, err: failure.message, next_attempt: r.attempt, delay_ms: r.delayMs }, 'attempt failed; retrying');
          return 'retrying';
        case 'failed':
          log.warn({ code: r.code, err: r.message }, 'job failed');
          throw new UnrecoverableError(r.message);
        case 'cancelled':
          log.info('job cancelled');
          return 'cancelled';
        default:
          return 'stale';
      }
    }
  }

  const processor: Processor<TrainJobPayload> = async (bullJob) => {
    const { jobId, attempt } = bullJob.data;
    const ref: AttemptRef = { jobId, attempt, workerId: d.workerId };
    const log = d.logger.child({ job_id: jobId, attempt });
    if (!(await d.runs.claim(jobId, attempt, d.workerId))) {
      log.info('attempt is stale (cancelled, retried or taken); skipped');
      return 'stale';
    }
    if (stopping) {
      // Taken while the worker began stopping: give it straight back rather than start training.
      const r = await d.runs.handOver(jobId, attempt, d.workerId);
      log.info({ outcome: r.outcome }, 'job handed over');
      return r.outcome === 'requeued' ? 'handed-over' : r.outcome;
    }
    const control = { requestHandover: () => undefined as void };
    const entry: Supervised = { requestHandover: () => control.requestHandover(), done: Promise.resolve() };
    const done = supervise(bullJob, ref, log, control);
    entry.done = done.catch(() => undefined);
    running.add(entry);
    try {
      return await done;
    } finally {
      running.delete(entry);
    }
  };

  return {
    processor,
    async handOver() {
      stopping = true;
      const all = [...running];
      for (const r of all) r.requestHandover();
      await Promise.all(all.map((r) => r.done));
    },
  };
}

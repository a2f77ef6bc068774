// The IPC protocol between a worker and the training process it forks for one job attempt (node's
// child_process IPC channel, JSON messages).
//
//   parent → child  start     once, first: the worker's configuration and which attempt to run
//                   cancel    the job is being cancelled: stop at the next training step
//                   handover  the worker is stopping: checkpoint at the next step and stop
//   child → parent  progress  throttled training progress (the parent passes it to BullMQ)
//                   checkpoint a checkpoint was stored (where it was taken)
//                   notify    a lifecycle event for webhooks (the parent owns the Redis connection)
//                   result    once, last: how the attempt ended; the child exits after sending it
//
// The child writes the job's own progress, metrics, artifacts and SUCCEEDED itself (Postgres, blob
// store); the parent owns the heartbeat, cancel polling, BullMQ and every other final move.
import type { CheckpointInfo } from '../pipeline/types.js';

export interface AttemptRef {
  jobId: string;
  attempt: number;
  workerId: string;
}

/** `config` is the worker's validated configuration as a plain object; the child's composition root reads it. */
export interface StartMessage<C = unknown> {
  type: 'start';
  ref: AttemptRef;
  config: C;
  /** The TF.js backend the worker selected (the child activates the same one). */
  backend: string;
  /** Versions for the report (the worker's view of its installation). */
  versions: Record<string, string>;
}

export type ParentMessage<C = unknown> = StartMessage<C> | { type: 'cancel' } | { type: 'handover' };

export interface TrainingProgress {
  phase: string;
  epoch?: number;
  step?: number;
}

export type AttemptResult =
  | { outcome: 'succeeded' }
  /** `unrecoverable`: bad input, the job fails at once; else an infrastructure failure, retried. */
  | { outcome: 'failed'; code: string; message: string; unrecoverable: boolean }
  | { outcome: 'cancelled' }
  /** Stopped after a checkpoint (or before training began) so another worker continues. */
  | { outcome: 'handed-over'; checkpoint?: CheckpointInfo }
  /** The attempt no longer holds the job (another attempt took it over): nothing was done. */
  | { outcome: 'stale' };

export type ChildMessage =
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'checkpoint'; info: CheckpointInfo }
  | { type: 'notify'; tenantId: string; event: string; payload: Record<string, unknown> }
  | { type: 'result'; result: AttemptResult };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function isParentMessage(m: unknown): m is ParentMessage {
  if (!isObject(m)) return false;
  if (m.type === 'cancel' || m.type === 'handover') return true;
  if (m.type !== 'start' || !isObject(m.ref) || !isObject(m.config) || typeof m.backend !== 'string' || !isObject(m.versions)) return false;
  return typeof m.ref.jobId === 'string' && Number.isInteger(m.ref.attempt) && typeof m.ref.workerId === 'string';
}

const OUTCOMES = new Set(['succeeded', 'failed', 'cancelled', 'handed-over', 'stale']);

export function isChildMessage(m: unknown): m is ChildMessage {
  if (!isObject(m)) return false;
  switch (m.type) {
    case 'progress':
      return isObject(m.progress) && typeof m.progress.phase === 'string';
    case 'checkpoint':
      return isObject(m.info) && typeof m.info.phase === 'string';
    case 'notify':
      return typeof m.tenantId === 'string' && typeof m.event === 'string' && isObject(m.payload);
    case 'result':
      return isObject(m.result) && OUTCOMES.has(m.result.outcome as string) && (m.result.outcome !== 'failed' || (typeof m.result.code === 'string' && typeof m.result.message === 'string'));
    default:
      return false;
  }
}

/** "TRAINING_QAT epoch 2, step 940": where a checkpoint was taken (the phase's epochs done, and its step count). */
export const describeCheckpoint = (info: CheckpointInfo): string =>
  `${info.phase} epoch ${info.epoch}, step ${info.step}${info.round !== undefined ? `, round ${info.round}` : ''}`;

// Checkpoints of compareQuantization's training phases. A checkpoint holds, per phase that has started,
// the trainer's exported state (every weight incl. BN statistics and observer ranges, optimizer slots,
// global step, data cursor and the running sums of the epoch in progress), the early-stopping tracker
// and the epochs logged so far. Everything after a phase (evaluation, PTQ, conversion) is recomputed
// from its weights, so a resumed comparison gives the same numbers as an undisturbed one.
import type { EpochLog } from '../train/callbacks.js';
import type { EarlyStoppingState } from '../train/earlyStopping.js';
import type { TrainState } from '../train/state.js';
import { decodeState, encodeState, StateCodecError } from '../train/stateCodec.js';

export const COMPARE_CHECKPOINT_VERSION = 1;

export type TrainingPhase = 'TRAINING_FLOAT' | 'TRAINING_QAT';

export interface PhaseCheckpoint {
  trainer: TrainState;
  earlyStopping: EarlyStoppingState | null;
  /** Epochs completed so far in this phase. */
  history: EpochLog[];
  /** Wall-clock seconds trained so far in this phase (over all attempts), for samples/s. */
  seconds: number;
}

export interface CompareCheckpoint {
  version: typeof COMPARE_CHECKPOINT_VERSION;
  /** The caller's fingerprint of the run (config, data, model): a checkpoint of another run is refused. */
  key: string;
  /** The phase training resumes in. */
  phase: TrainingPhase;
  /** Null: the model came trained (no float epochs). Complete once phase is TRAINING_QAT. */
  float: PhaseCheckpoint | null;
  /** Null: QAT has not started. */
  qat: PhaseCheckpoint | null;
}

export interface CheckpointInfo {
  phase: TrainingPhase;
  /** The epoch (0-based) training continues with. */
  epoch: number;
  /** Optimizer updates applied so far in the phase. */
  step: number;
  /** Data-parallel: rounds completed so far in the phase. */
  round?: number;
}

export type ResumeResult = { resumed: true; info: CheckpointInfo } | { resumed: false; reason: string };

export interface CheckpointOptions {
  key: string;
  resume?: CompareCheckpoint;
  onResume?(result: ResumeResult): void;
  save(checkpoint: CompareCheckpoint, info: CheckpointInfo): Promise<void>;
  /** Polled between steps: true = save and stop with CheckpointedStopError. */
  handoverRequested?(): boolean;
  /** Mid-epoch checkpoint period (default 60 000 ms). */
  intervalMs?: number;
}

export function encodeCheckpoint(c: CompareCheckpoint): Uint8Array {
  return encodeState(c);
}

/** Throws StateCodecError for bytes that are not a checkpoint of this version. */
export function decodeCheckpoint(bytes: Uint8Array): CompareCheckpoint {
  const c = decodeState(bytes) as Partial<CompareCheckpoint> | null;
  if (c === null || typeof c !== 'object' || c.version !== COMPARE_CHECKPOINT_VERSION) {
    throw new StateCodecError(`not a comparison checkpoint of version ${COMPARE_CHECKPOINT_VERSION}`);
  }
  if (typeof c.key !== 'string' || (c.phase !== 'TRAINING_FLOAT' && c.phase !== 'TRAINING_QAT')) throw new StateCodecError('checkpoint lacks its key or phase');
  return c as CompareCheckpoint;
}

// What the QAT pipeline needs from whoever runs it — `qat run` on local files, or a BullMQ worker on
// uploaded blobs — and where its outputs go.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Phase } from '../../core/pipeline/compare.js';
import type { TrainCallbacks } from '../../core/train/callbacks.js';
import type { Dataset } from '../../core/train/dataset.js';
import type { Task } from '../../core/train/task.js';
import type { RunReport } from '../../export/report/index.js';

/** A parsed dataset, before the pipeline's own validation split and standardisation. */
export interface PipelineData {
  train: Dataset;
  test: Dataset;
  task: Task;
  classes: number;
  classNames?: string[];
  testSource: 'given' | 'split';
  format: string;
  /** For the report: file or builtin name, sha256 of the bytes, licence of a builtin. */
  name: string;
  sha256: string;
  licence?: string;
  /** How raw values became x before the pipeline (e.g. "uint8 / 255"). */
  scale?: string;
  /** CSV/TSV: how rows become x (columns, label column, one-hot vocabularies), for the report and card. */
  tabular?: unknown;
}

export interface PipelineModel {
  model: LayersModel;
  name: string;
  source: RunReport['model']['source'];
  /** False for a zoo model or an architecture without weights: float training comes first. */
  hasWeights: boolean;
}

export interface ArtifactRecord {
  name: string;
  kind: string;
  size_bytes: number;
  sha256: string;
}

/** Where artifacts go (a folder, the blob store); returns what report.json lists. */
export interface ArtifactSink {
  write(name: string, kind: string, bytes: Uint8Array | string): Promise<ArtifactRecord>;
}

export interface PipelineProgress {
  phase(p: Phase | 'EXPORTING'): void;
  callbacks: TrainCallbacks;
}

/** Where a checkpoint was taken: the training phase, its next epoch (0-based) and the phase's step. */
export type { CheckpointInfo } from '../../core/pipeline/checkpoint.js';
import type { CheckpointInfo, ResumeResult } from '../../core/pipeline/checkpoint.js';

/**
 * Checkpoints of the training phases, so a job taken over by another worker (lost worker, SIGTERM
 * hand-over, infrastructure retry) continues where the last one stopped instead of starting again. The
 * bytes are opaque to the caller (a versioned binary file); a resumed run gives the same weights and
 * metrics as an undisturbed one.
 */
export interface PipelineCheckpoints {
  /** The last checkpoint an earlier attempt of the same job saved, if any. */
  resume?: Uint8Array;
  /** Told when `resume` was taken up (or refused, with the reason, in which case training starts afresh). */
  onResume?(result: ResumeResult): void;
  /** Stores a checkpoint, replacing the previous one. Saved at every epoch end, at each phase's end,
   *  after `intervalMs` mid-epoch, and when a hand-over is requested. */
  save(bytes: Uint8Array, info: CheckpointInfo): Promise<void>;
  /** Polled between training steps: true = checkpoint now and stop with CheckpointedStopError. */
  handoverRequested?(): boolean;
  /** Mid-epoch checkpoint period (default 60 000 ms). */
  intervalMs?: number;
}

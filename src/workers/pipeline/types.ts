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

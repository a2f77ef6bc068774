// What a data-parallel round's BullMQ jobs carry: ids, blob keys and small numbers. Model state moves
// as binary files in the artifact store (roundState.ts), never through Redis.
import type { TrainingPhase } from '../../core/pipeline/checkpoint.js';
import type { QatSchedule } from '../../core/qat/mode.js';
import type { EpochLog } from '../../core/train/callbacks.js';
import type { ShardProgress, ShardTrainerSpec } from '../../core/train/dataParallel.js';
import type { MergeOptions } from '../../core/train/shardMerge.js';

export interface RoundBase {
  jobId: string;
  attempt: number;
  phase: TrainingPhase;
  round: number;
  shards: number;
  /** Blob-key folder of this round: global.bin, shard-<k>.bin, merged.bin. */
  folder: string;
}

export interface ShardPayload extends RoundBase {
  shard: number;
  steps: number;
  spec: ShardTrainerSpec;
  schedule?: QatSchedule;
  /** Every shard's position (the request's), so a retried child starts exactly where the first try did. */
  progress: ShardProgress[];
}

export interface RoundPayload extends RoundBase {
  merge: MergeOptions;
}

/** A shard's return value (its state is in `<folder>/shard-<k>.bin`). */
export interface ShardSummary {
  shard: number;
  samples: number;
  lossSum: number;
  metricSum: number;
  epochLog?: EpochLog;
  /** Wall-clock ms the shard spent training (excluding reading and writing states). */
  trainMs: number;
  /** When that training started (ms since the epoch, the worker's clock). */
  trainStartedAt: number;
}

/** The round parent's return value (the merged state is in `<folder>/merged.bin`). */
export interface RoundSummary {
  shards: Array<ShardSummary & { progress: ShardProgress }>;
  /** ms the merge took (reading the shard states, merging, writing the result). */
  mergeMs: number;
  /** Size of one encoded state file. */
  stateBytes: number;
}

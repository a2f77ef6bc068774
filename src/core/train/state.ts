// The exported training state: everything needed to continue a run bit-for-bit (weights incl.
// non-trainable ones such as batch-norm statistics and observer ranges, optimizer slots, the step
// counter, and the data cursor), as plain typed arrays keyed by stable names.
import type { OptimizerConfig } from './optimizers.js';
import type { TensorRecord } from './tensorRecord.js';

export const TRAIN_STATE_VERSION = 1;

/** Where the run is inside its data: which epoch, how many of its batches are done, and the PRNG
 *  state the epoch's shuffle was drawn from (so the same permutation can be drawn again). */
export interface DataCursor {
  epoch: number;
  batchInEpoch: number;
  epochRng: number;
}

/** Running sums of the current epoch's training metrics, so a resumed epoch reports the same means. */
export interface EpochSums {
  loss: number;
  metric: number;
  samples: number;
  batches: number;
}

export interface TrainState {
  version: typeof TRAIN_STATE_VERSION;
  /** Optimizer updates applied so far (the global step). */
  step: number;
  cursor: DataCursor;
  sums: EpochSums;
  optimizer: { kind: OptimizerConfig['kind']; slots: Record<string, TensorRecord> };
  /** Every model weight (trainable and not) by its stable name, e.g. `conv1/kernel`, `bn1/moving_mean`. */
  weights: Record<string, TensorRecord>;
}

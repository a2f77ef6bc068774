// The exported training state: everything needed to continue a run bit-for-bit (weights incl.
// non-trainable ones such as batch-norm statistics and observer ranges, optimizer slots, the step
// counter, and the data cursor), as plain typed arrays keyed by stable names.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { OptimizerConfig } from './optimizers.js';
import { assertRecordFits, fromRecord, type TensorRecord } from './tensorRecord.js';

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
  /** Data-parallel training: each shard's own position in its data, and the rounds done so far. */
  shards?: { cursor: DataCursor; sums: EpochSums }[];
  round?: number;
}

/** Checks a state against a model and optimizer before anything is written (a wrong shape would broadcast silently). */
export function checkStateFits(model: LayersModel, state: TrainState, optimizerKind: OptimizerConfig['kind']): void {
  if (state.version !== TRAIN_STATE_VERSION) throw new Error(`unsupported training state version ${String(state.version)}`);
  if (state.optimizer.kind !== optimizerKind) throw new Error(`state is for ${state.optimizer.kind}, this trainer uses ${optimizerKind}`);
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  for (const name of Object.keys(state.weights)) if (!byName.has(name)) throw new Error(`state has a weight '${name}' the model does not have`);
  for (const [name, w] of byName) {
    const r = state.weights[name];
    if (r == null) throw new Error(`state lacks the model weight '${name}'`);
    assertRecordFits(name, r, w.shape as number[]);
  }
  // A slot is `${weight}/${slot}` and has its weight's shape.
  for (const [key, r] of Object.entries(state.optimizer.slots)) {
    const w = byName.get(key.slice(0, key.lastIndexOf('/')));
    if (w == null) throw new Error(`optimizer slot '${key}' belongs to no model weight`);
    assertRecordFits(key, r, w.shape as number[]);
  }
  if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`invalid step ${state.step}`);
}

/** Writes every weight of a checked state into the model. */
export function writeWeights(model: LayersModel, weights: Record<string, TensorRecord>): void {
  for (const w of model.weights) {
    const t = fromRecord(weights[w.originalName]!);
    w.write(t);
    t.dispose();
  }
}

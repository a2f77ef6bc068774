// What the training loop reports, and the hooks through which QAT schedules act on the model.

export interface StepLog {
  epoch: number;
  /** Global step, 1-based after the update (the number of updates applied so far). */
  step: number;
  loss: number;
  /** classification: the batch's top-1 accuracy. */
  accuracy?: number;
  /** regression: the batch's mean absolute error. */
  mae?: number;
  /** Learning rate used for this update. */
  lr: number;
  /** Samples the update trained on (a data-parallel round: over all shards and steps). */
  samples?: number;
}

export interface EpochLog {
  epoch: number;
  steps: number;
  samples: number;
  /** Sample-weighted means over the epoch's training batches. */
  loss: number;
  accuracy?: number;
  mae?: number;
  valLoss?: number;
  valAccuracy?: number;
  valMae?: number;
}

export interface ShardLog {
  shard: number;
  /** The shard's epoch (0-based) and batches done in it. */
  epoch: number;
  batchInEpoch: number;
  /** This round: samples trained and their mean loss. */
  samples: number;
  loss: number;
}

export interface RoundLog {
  /** 0-based over the phase. */
  round: number;
  steps: number;
  shards: ShardLog[];
}

export interface TrainCallbacks {
  /**
   * Before the first batch of an epoch; where QAT schedules freeze observers or batch-norm statistics.
   * Also called when a run resumes in the middle of an epoch (`resumed: true`), so it must be idempotent:
   * layer flags are model state the exported training state does not carry.
   */
  onEpochStart?(epoch: number, info: { resumed: boolean }): void | Promise<void>;
  onStepEnd?(log: StepLog): void | Promise<void>;
  onEpochEnd?(log: EpochLog): void | Promise<void>;
  /** Data-parallel training: one shard's own epoch means, after the merged epoch's onEpochEnd. */
  onShardEpochEnd?(shard: number, log: EpochLog): void | Promise<void>;
  /** Data-parallel training: after each merged round, where every shard stands (before onStepEnd). */
  onRoundEnd?(round: RoundLog): void | Promise<void>;
}

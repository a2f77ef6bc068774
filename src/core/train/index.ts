// The training loop and its parts: losses, optimizers, schedules, state export/averaging, evaluation.
export type { EpochLog, StepLog, TrainCallbacks } from './callbacks.js';
export { averageStates, type AverageOptions, type Reduction } from './averageStates.js';
export { type Dataset, datasetLength, makeBatch, validateDataset } from './dataset.js';
export { evaluate, evaluateDataset, type EvalResult } from './evaluate.js';
export { forward } from './forward.js';
export { meanSquaredError, softmaxCrossEntropy } from './losses.js';
export { createOptimizer, type Optimizer, type OptimizerConfig, type ParamRef } from './optimizers.js';
export { deriveSeed, permutation, Rng } from './rng.js';
export { learningRateAt, type LrConfig, type LrSchedule, stepsPerEpoch } from './schedule.js';
export { type DataCursor, type EpochSums, TRAIN_STATE_VERSION, type TrainState } from './state.js';
export type { Task } from './task.js';
export type { TensorRecord } from './tensorRecord.js';
export { type FitOptions, type FitResult, type StepResult, Trainer, type TrainerOptions } from './trainer.js';
export { applyBatchTransform, type BatchContext, type BatchTransform } from './batchTransform.js';
export { EarlyStopping, type EarlyStoppingConfig, validateEarlyStopping } from './earlyStopping.js';

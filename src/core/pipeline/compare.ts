// The comparison a QAT job reports: the float model, post-training quantization (weights-only and
// static, calibrated on training samples), and QAT fine-tuning — each simulated, and the int8 ones also
// converted and run by the integer reference, all on the test split no step trained on.
// An optional validation set (split off the training data by the caller) is evaluated after every
// training epoch and drives early stopping; the test split never selects a model.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { convert } from '../convert/index.js';
import type { IntModel } from '../convert/types.js';
import { layerErrors, type LayerError } from '../eval/layerError.js';
import { agreement, evaluatePredictor, modelPredictor, type TaskMetrics } from '../eval/metrics.js';
import { calibrate, weightsOnly } from '../ptq/calibrate.js';
import type { QatConfig } from '../qat/config.js';
import { applySchedule, type QatSchedule, setQatMode } from '../qat/mode.js';
import { prepareQat } from '../qat/prepare.js';
import { type CalibratorKind, createCalibrator } from '../quant/observers/index.js';
import * as tf from '../tf.js';
import type { BatchTransform } from '../train/batchTransform.js';
import type { EpochLog, TrainCallbacks } from '../train/callbacks.js';
import type { Dataset } from '../train/dataset.js';
import { EarlyStopping, type EarlyStoppingConfig, validateEarlyStopping } from '../train/earlyStopping.js';
import type { OptimizerConfig } from '../train/optimizers.js';
import type { Task } from '../train/task.js';
import { Trainer } from '../train/trainer.js';
import { calibrationBatches, datasetTensors } from './datasetTensors.js';
import { intPredictor } from './intPredictor.js';

export type Phase = 'TRAINING_FLOAT' | 'CALIBRATING' | 'TRAINING_QAT' | 'QUANTIZING' | 'EVALUATING';

export interface CompareOptions {
  task: Task;
  /** Float epochs before quantizing (0: the model is already trained). */
  floatEpochs: number;
  qatEpochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  lr: number;
  qatLr: number;
  seed: number;
  qat?: Partial<QatConfig>;
  /** Default: freeze observers and BN statistics for the last QAT epoch (the torchvision recipe). */
  schedule?: QatSchedule;
  calibration: { samples: number; observer: CalibratorKind };
  onPhase?: (phase: Phase) => void;
  callbacks?: TrainCallbacks;
  signal?: AbortSignal;
  /**
   * Held out from the training set by the caller (never the test split): evaluated after every float
   * and QAT epoch (valLoss / valAccuracy / valMae in onEpochEnd and in the phase histories).
   */
  validation?: Dataset;
  /** Needs `validation`. Per phase: stop after `patience` epochs without improvement, keep the best epoch's weights. */
  earlyStopping?: EarlyStoppingConfig;
  /** Training-batch augmentation for both phases (src/data/augment.ts builds it); never applied to evaluation or calibration. */
  transformBatch?: BatchTransform;
}

/** What one training phase did. */
export interface PhaseHistory {
  /** Maximum epochs asked for. */
  epochs: number;
  epochsRun: number;
  /** True when early stopping ended the phase before `epochs`. */
  stoppedEarly: boolean;
  /** With early stopping: the 0-based epoch whose weights the phase's model holds (null: no finite validation value). */
  bestEpoch?: number | null;
  /** Its validation value (of `earlyStopping.metric`). */
  bestValue?: number;
  /** Per epoch: training means, and validation metrics when validation was given. */
  history: EpochLog[];
}

export interface VariantResult {
  metrics: TaskMetrics;
  /** Samples trained per wall-clock second of the phase (per-epoch validation included when given). */
  samplesPerS?: number;
}

export interface QuantReport {
  task: Task;
  float: VariantResult & { training: PhaseHistory };
  ptqDynamic: VariantResult;
  ptqStatic: VariantResult & { int8Reference: TaskMetrics; calibration: { observer: CalibratorKind; samples: number } };
  qat: VariantResult & { int8Reference: TaskMetrics; agreement: number; maxAbsOutputDiff: number; training: PhaseHistory };
  bytes: IntModel['report']['bytes'];
  macsPerSample: number;
  layers: LayerError[];
  /** The converted QAT model: what export writes. */
  intModel: IntModel;
  qatModel: LayersModel;
}

/** Raised when the caller's signal stops the comparison: a cancel, not a failure. */
export class ComparisonAbortedError extends Error {
  constructor(readonly phase: Phase) {
    super(`comparison aborted during ${phase}`);
    this.name = 'ComparisonAbortedError';
  }
}

function checkAbort(o: CompareOptions, phase: Phase): void {
  if (o.signal?.aborted) throw new ComparisonAbortedError(phase);
}

function checkOptions(o: CompareOptions, test: Dataset): void {
  if (o.validation === test) throw new Error('the validation set must be split off the training data, not be the test split');
  if (o.earlyStopping) {
    if (!o.validation) throw new Error('earlyStopping needs a validation set');
    validateEarlyStopping(o.earlyStopping);
    if (o.earlyStopping.metric === 'accuracy' && o.task !== 'classification') throw new Error("earlyStopping on 'accuracy' needs a classification task");
  }
}

async function fit(model: LayersModel, data: Dataset, o: CompareOptions, phase: Phase, epochs: number, lr: number, seed: number, schedule?: QatSchedule) {
  const trainer = new Trainer(model, data, { task: o.task, batchSize: o.batchSize, optimizer: o.optimizer, lr: { lr }, seed, transformBatch: o.transformBatch });
  const earlyStopping = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
  try {
    const started = performance.now();
    const result = await trainer.fit({
      epochs,
      signal: o.signal,
      validation: o.validation,
      earlyStopping,
      callbacks: {
        ...o.callbacks,
        onEpochStart: async (epoch, info) => {
          if (schedule) applySchedule(model, epoch, schedule);
          await o.callbacks?.onEpochStart?.(epoch, info);
        },
      },
    });
    // The trainer stops cleanly on abort; a half-trained model must not flow into the next phase.
    if (result.stop === 'aborted') throw new ComparisonAbortedError(phase);
    const seconds = (performance.now() - started) / 1000;
    const samples = result.history.reduce((a, h) => a + h.samples, 0);
    const training: PhaseHistory = { epochs, epochsRun: result.history.length, stoppedEarly: result.stop === 'early-stopped', history: result.history };
    if (earlyStopping) {
      training.bestEpoch = earlyStopping.bestEpoch;
      training.bestValue = earlyStopping.bestValue;
    }
    return { samplesPerS: samples / seconds, training };
  } finally {
    earlyStopping?.dispose();
    trainer.dispose();
  }
}

function untrained(): PhaseHistory {
  return { epochs: 0, epochsRun: 0, stoppedEarly: false, history: [] };
}

export async function compareQuantization(floatModel: LayersModel, train: Dataset, test: Dataset, o: CompareOptions): Promise<QuantReport> {
  checkOptions(o, test);
  const { x: xTest, y: yTest } = datasetTensors(test, o.task);
  const evaluate = (m: LayersModel) => evaluatePredictor(modelPredictor(m), xTest, yTest, o.task);
  // Models this function creates; all but the returned QAT model are disposed whatever happens.
  const owned: LayersModel[] = [];
  const own = <T extends { model: LayersModel }>(p: T): T => {
    owned.push(p.model);
    return p;
  };
  let keep: LayersModel | null = null;
  const phase = (p: Phase) => {
    checkAbort(o, p);
    o.onPhase?.(p);
  };
  try {
    phase('TRAINING_FLOAT');
    const floatRun = o.floatEpochs > 0 ? await fit(floatModel, train, o, 'TRAINING_FLOAT', o.floatEpochs, o.lr, o.seed) : null;
    const float = { metrics: evaluate(floatModel), ...(floatRun ? { samplesPerS: floatRun.samplesPerS } : {}), training: floatRun?.training ?? untrained() };

    phase('CALIBRATING');
    const dynamic = own(prepareQat(floatModel, o.qat));
    weightsOnly(dynamic.model);
    const ptqDynamic: VariantResult = { metrics: evaluate(dynamic.model) };

    const ptq = own(prepareQat(floatModel, o.qat));
    const calibration = calibrate(ptq.model, calibrationBatches(train, o.calibration.samples, 256), (label) =>
      createCalibrator(o.calibration.observer, { name: label, includeZero: true }),
    );
    const ptqInt = convert(ptq.model, { name: 'ptq' });
    const ptqStatic = {
      metrics: evaluate(ptq.model),
      int8Reference: evaluatePredictor(intPredictor(ptqInt), xTest, yTest, o.task),
      calibration: { observer: o.calibration.observer, samples: calibration.samples },
    };

    phase('TRAINING_QAT');
    const prepared = own(prepareQat(floatModel, o.qat));
    const lastEpoch = Math.max(0, o.qatEpochs - 1);
    const schedule = o.schedule ?? (o.qatEpochs > 1 ? { freezeObserversAtEpoch: lastEpoch, freezeBatchNormAtEpoch: lastEpoch } : {});
    const qatRun = await fit(prepared.model, train, o, 'TRAINING_QAT', o.qatEpochs, o.qatLr, o.seed + 1, schedule);
    setQatMode(prepared.model, { observersFrozen: true, batchNormFrozen: true });

    phase('QUANTIZING');
    const intModel = convert(prepared.model, { name: prepared.model.name });

    phase('EVALUATING');
    const qatSim = modelPredictor(prepared.model);
    const intRef = intPredictor(intModel);
    const agree = o.task === 'classification' ? agreement(qatSim, intRef, xTest) : { agreement: Number.NaN, maxAbsDiff: Number.NaN };
    const qat = {
      metrics: evaluate(prepared.model),
      samplesPerS: qatRun.samplesPerS,
      int8Reference: evaluatePredictor(intRef, xTest, yTest, o.task),
      agreement: agree.agreement,
      maxAbsOutputDiff: agree.maxAbsDiff,
      training: qatRun.training,
    };
    const sample = tf.slice(xTest, 0, Math.min(256, xTest.shape[0]!));
    const layers = layerErrors(prepared.model, sample);
    sample.dispose();
    keep = prepared.model;
    return {
      task: o.task,
      float,
      ptqDynamic,
      ptqStatic,
      qat,
      bytes: intModel.report.bytes,
      macsPerSample: intModel.report.macsPerSample,
      layers,
      intModel,
      qatModel: prepared.model,
    };
  } finally {
    tf.dispose([xTest, yTest]);
    for (const m of owned) if (m !== keep) m.dispose();
  }
}

/** Raised when a hand-over was requested: the checkpoint is saved and the run stopped; another worker resumes it. */
export class CheckpointedStopError extends Error {
  constructor(readonly phase: Phase) {
    super(`stopped after a checkpoint during ${phase} (handed over)`);
    this.name = 'CheckpointedStopError';
  }
}

// The comparison a QAT job reports: the float model, post-training quantization (weights-only and
// static, calibrated on training samples), and QAT fine-tuning — each simulated, and the int8 ones also
// converted and run by the integer reference, all on the test split no step trained on.
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
import type { TrainCallbacks } from '../train/callbacks.js';
import { type Dataset, datasetLength } from '../train/dataset.js';
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
}

export interface VariantResult {
  metrics: TaskMetrics;
  samplesPerS?: number;
}

export interface QuantReport {
  task: Task;
  float: VariantResult;
  ptqDynamic: VariantResult;
  ptqStatic: VariantResult & { int8Reference: TaskMetrics; calibration: { observer: CalibratorKind; samples: number } };
  qat: VariantResult & { int8Reference: TaskMetrics; agreement: number; maxAbsOutputDiff: number };
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

async function fit(model: LayersModel, data: Dataset, o: CompareOptions, phase: Phase, epochs: number, lr: number, seed: number, schedule?: QatSchedule) {
  const trainer = new Trainer(model, data, { task: o.task, batchSize: o.batchSize, optimizer: o.optimizer, lr: { lr }, seed });
  try {
    const started = performance.now();
    const result = await trainer.fit({
      epochs,
      signal: o.signal,
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
    return { samplesPerS: (epochs * datasetLength(data)) / seconds, result };
  } finally {
    trainer.dispose();
  }
}

export async function compareQuantization(floatModel: LayersModel, train: Dataset, test: Dataset, o: CompareOptions): Promise<QuantReport> {
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
    const float: VariantResult = { metrics: evaluate(floatModel), ...(floatRun ? { samplesPerS: floatRun.samplesPerS } : {}) };

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

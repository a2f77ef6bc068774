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
import { type RoundRunner, RoundTrainer, type ShardTrainerSpec, shardTrainerSpec } from '../train/dataParallel.js';
import { Trainer, type TrainerOptions } from '../train/trainer.js';
import { calibrationBatches, datasetTensors } from './datasetTensors.js';
import { intPredictor } from './intPredictor.js';
import {
  COMPARE_CHECKPOINT_VERSION,
  type CheckpointInfo,
  type CheckpointOptions,
  type CompareCheckpoint,
  type PhaseCheckpoint,
  type TrainingPhase,
} from './checkpoint.js';

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
  /** Checkpoints of the training phases, and the one to resume from (see checkpoint.ts). */
  checkpoint?: CheckpointOptions;
  /** Train both phases data-parallel in rounds (see train/dataParallel.ts); absent = one process. */
  dataParallel?: CompareDataParallel;
}

/** What a phase tells the round runner it needs: which phase, its model, and its shard trainer. */
export interface DataParallelPhase {
  phase: TrainingPhase;
  model: LayersModel;
  data: Dataset;
  spec: ShardTrainerSpec;
  schedule?: QatSchedule;
}

export interface CompareDataParallel {
  shards: number;
  syncEvery: number;
  runnerFor(phase: DataParallelPhase): RoundRunner;
  /** What the rounds run so far cost, where the runner measures it (rounds over a queue). */
  costs?(): DataParallelCosts;
}

/** Totals over rounds, in milliseconds (see the report's train.data_parallel.costs). */
export interface DataParallelCosts {
  rounds: number;
  roundMs: number;
  /** Time at least one shard was training, summed over rounds. */
  trainMs: number;
  /** Slowest minus mean shard training, summed over rounds. */
  waitMs: number;
  mergeMs: number;
  stateBytes: number;
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

/** A phase's checkpoint did not fit the model (internal: the phase then trains afresh). */
class CheckpointRefusedError extends Error {
  constructor(
    readonly phase: TrainingPhase,
    reason: string,
  ) {
    super(`the ${phase === 'TRAINING_FLOAT' ? 'float' : 'QAT'} checkpoint was refused: ${reason}`);
    this.name = 'CheckpointRefusedError';
  }
}

/** The part of a checkpoint that says where training continues. */
function resumePoint(c: CompareCheckpoint): CheckpointInfo {
  const p = c.phase === 'TRAINING_QAT' ? c.qat : c.float;
  const round = p?.trainer.round;
  return { phase: c.phase, epoch: p?.trainer.cursor.epoch ?? 0, step: p?.trainer.step ?? 0, ...(round !== undefined ? { round } : {}) };
}

/** Why a checkpoint cannot belong to this run, before any of it is taken up; null when it may. */
function mismatch(c: CompareCheckpoint, o: CompareOptions, key: string): string | null {
  if (c.key !== key) return 'it belongs to another run (configuration, data or model differ)';
  if ((o.floatEpochs > 0) !== (c.float !== null)) return 'its float phase does not match this run';
  if (c.phase === 'TRAINING_FLOAT' && c.qat !== null) return 'it holds QAT state while still in the float phase';
  return null;
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

/** How one phase's fit takes part in checkpoints: where it resumes from, and how it saves. */
interface PhaseCheckpointing {
  resume: PhaseCheckpoint | null;
  /** Called once the resumed state is in the model. */
  onTakenUp?: () => void;
  save(progress: PhaseCheckpoint, info: CheckpointInfo): Promise<void>;
  handoverRequested(): boolean;
  intervalMs: number;
}

/** Takes up a phase's checkpoint: the tracker first, then the trainer (each checks everything before it
 *  changes anything), so a refused one leaves the model as it was.*/
function takeUp(trainer: Trainer | RoundTrainer, es: EarlyStopping | undefined, model: LayersModel, resume: PhaseCheckpoint): void {
  if (resume.earlyStopping && !es) throw new Error('the checkpoint has early-stopping state, this run has no early stopping');
  if (es && resume.earlyStopping) es.importState(resume.earlyStopping, model);
  trainer.importState(resume.trainer);
}

/** One training phase: which, for how many epochs, and how. */
interface PhaseSpec {
  phase: TrainingPhase;
  model: LayersModel;
  epochs: number;
  lr: number;
  seed: number;
  schedule?: QatSchedule;
}

async function fit(data: Dataset, o: CompareOptions, { phase, model, epochs, lr, seed, schedule }: PhaseSpec, ck?: PhaseCheckpointing) {
  const trainerOptions: TrainerOptions = { task: o.task, batchSize: o.batchSize, optimizer: o.optimizer, lr: { lr }, seed, transformBatch: o.transformBatch };
  const dp = o.dataParallel;
  const trainer = dp
    ? new RoundTrainer(model, data, trainerOptions, {
        shards: dp.shards,
        syncEvery: dp.syncEvery,
        runner: dp.runnerFor({ phase, model, data, spec: shardTrainerSpec(trainerOptions, dp.shards), ...(schedule ? { schedule } : {}) }),
      })
    : new Trainer(model, data, trainerOptions);
  let earlyStopping = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
  try {
    const prior = { history: [] as EpochLog[], seconds: 0 };
    if (ck?.resume) {
      try {
        takeUp(trainer, earlyStopping, model, ck.resume);
        prior.history = ck.resume.history;
        prior.seconds = ck.resume.seconds;
        ck.onTakenUp?.();
      } catch (err) {
        earlyStopping?.dispose();
        earlyStopping = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
        throw new CheckpointRefusedError(phase, (err as Error).message);
      }
    }
    const started = performance.now();
    let lastSave = started;
    const logged: EpochLog[] = [];
    let epochStarts = 0;
    const snapshot = (): PhaseCheckpoint => ({
      trainer: trainer.exportState(),
      earlyStopping: earlyStopping?.exportState() ?? null,
      history: [...prior.history, ...logged],
      seconds: prior.seconds + (performance.now() - started) / 1000,
    });
    const save = async () => {
      if (!ck) return;
      await ck.save(snapshot(), { phase, epoch: trainer.epoch, step: trainer.step, ...(trainer instanceof RoundTrainer ? { round: trainer.round } : {}) });
      lastSave = performance.now();
    };
    // A checkpoint is only taken between whole steps and never with an epoch's last batch done but the
    // epoch not closed yet (its validation and early-stopping decision still to come): then it waits
    // for the next epoch start.
    const result = await trainer.fit({
      epochs,
      signal: o.signal,
      validation: o.validation,
      earlyStopping,
      callbacks: {
        ...o.callbacks,
        onEpochStart: async (epoch, info) => {
          if (schedule) applySchedule(model, epoch, schedule);
          if (ck && epochStarts++ > 0 && !info.resumed) {
            await save();
            if (ck.handoverRequested()) throw new CheckpointedStopError(phase);
          }
          await o.callbacks?.onEpochStart?.(epoch, info);
        },
        onStepEnd: async (log) => {
          await o.callbacks?.onStepEnd?.(log);
          if (!ck || o.signal?.aborted || trainer.batchInEpoch >= trainer.stepsPerEpoch) return;
          if (ck.handoverRequested()) {
            await save();
            throw new CheckpointedStopError(phase);
          }
          // Data-parallel: every round is a checkpoint, so a lost coordinator resumes at its last round.
          if (dp || performance.now() - lastSave >= ck.intervalMs) await save();
        },
        onEpochEnd: async (log) => {
          logged.push(log);
          await o.callbacks?.onEpochEnd?.(log);
        },
      },
    });
    // The trainer stops cleanly on abort; a half-trained model must not flow into the next phase.
    if (result.stop === 'aborted') throw new ComparisonAbortedError(phase);
    const progress = snapshot();
    const samples = progress.history.reduce((a, h) => a + h.samples, 0);
    const history = progress.history;
    const training: PhaseHistory = { epochs, epochsRun: history.length, stoppedEarly: result.stop === 'early-stopped', history };
    if (earlyStopping) {
      training.bestEpoch = earlyStopping.bestEpoch;
      training.bestValue = earlyStopping.bestValue;
    }
    return { samplesPerS: samples / progress.seconds, training, progress };
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
  const cko = o.checkpoint;
  let resume = cko?.resume ?? null;
  if (cko && resume) {
    const why = mismatch(resume, o, cko.key);
    if (why) {
      cko.onResume?.({ resumed: false, reason: why });
      resume = null;
    }
  }
  const checkpointing = (from: PhaseCheckpoint | null, compose: (p: PhaseCheckpoint) => CompareCheckpoint, onTakenUp?: () => void) =>
    cko && {
      resume: from,
      save: (p: PhaseCheckpoint, info: CheckpointInfo) => cko.save(compose(p), info),
      handoverRequested: () => cko.handoverRequested?.() ?? false,
      intervalMs: cko.intervalMs ?? 60_000,
      onTakenUp,
    };
  const reportResumed = () => {
    if (resume) cko?.onResume?.({ resumed: true, info: resumePoint(resume) });
  };
  /** A phase's fit, resumed from its checkpoint when there is one; a refused checkpoint is reported and dropped. */
  const runPhase = async (spec: PhaseSpec, from: PhaseCheckpoint | null, compose: (p: PhaseCheckpoint) => CompareCheckpoint, onTakenUp?: () => void) => {
    try {
      return await fit(train, o, spec, checkpointing(from, compose, onTakenUp));
    } catch (err) {
      if (!(err instanceof CheckpointRefusedError)) throw err;
      cko?.onResume?.({ resumed: false, reason: err.message });
      resume = null;
      return await fit(train, o, spec, checkpointing(null, compose));
    }
  };
  const key = cko?.key ?? '';
  let floatDone: PhaseCheckpoint | null = null;
  try {
    phase('TRAINING_FLOAT');
    const floatRun =
      o.floatEpochs > 0
        ? await runPhase(
            { phase: 'TRAINING_FLOAT', model: floatModel, epochs: o.floatEpochs, lr: o.lr, seed: o.seed },
            resume?.float ?? null,
            (p) => ({ version: COMPARE_CHECKPOINT_VERSION, key, phase: 'TRAINING_FLOAT', float: p, qat: null }),
            () => {
              if (resume && (resume.phase === 'TRAINING_FLOAT' || resume.qat === null)) reportResumed();
            },
          )
        : null;
    if (resume && !floatRun && resume.qat === null) reportResumed();
    floatDone = floatRun?.progress ?? null;
    if (cko && floatRun) {
      // A run resumed in its QAT phase keeps its checkpoint: saving "float done, no QAT yet" over it would
      // throw away the QAT progress it holds if this attempt stopped before its next save.
      if (!resume?.qat) await cko.save({ version: COMPARE_CHECKPOINT_VERSION, key, phase: 'TRAINING_QAT', float: floatDone, qat: null }, { phase: 'TRAINING_QAT', epoch: 0, step: 0 });
      // A hand-over asked during the phase's last epoch is honoured here, not after calibration.
      if (cko.handoverRequested?.()) throw new CheckpointedStopError('TRAINING_FLOAT');
    }
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
    const qatRun = await runPhase(
      { phase: 'TRAINING_QAT', model: prepared.model, epochs: o.qatEpochs, lr: o.qatLr, seed: o.seed + 1, schedule },
      resume?.qat ?? null,
      (p) => ({ version: COMPARE_CHECKPOINT_VERSION, key, phase: 'TRAINING_QAT', float: floatDone, qat: p }),
      reportResumed,
    );
    if (cko) await cko.save({ version: COMPARE_CHECKPOINT_VERSION, key, phase: 'TRAINING_QAT', float: floatDone, qat: qatRun.progress }, { phase: 'TRAINING_QAT', epoch: o.qatEpochs, step: qatRun.progress.trainer.step });
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

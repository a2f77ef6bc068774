// The custom training loop. Unlike model.fit it exposes the pieces data-parallel shards and QAT need:
// a global step counter that drives the LR schedule, a seeded shuffle whose state is exported, epoch
// hooks, cancellation between steps, and a training state that can be exported, averaged and imported.
import * as tf from '../tf.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyBatchTransform, type BatchTransform } from './batchTransform.js';
import type { EpochLog, StepLog, TrainCallbacks } from './callbacks.js';
import { type Dataset, makeBatch, validateDataset } from './dataset.js';
import type { EarlyStopping } from './earlyStopping.js';
import { evaluateDataset } from './evaluate.js';
import { createOptimizer, type Optimizer, type OptimizerConfig } from './optimizers.js';
import { permutation, Rng } from './rng.js';
import { type LrConfig, learningRateAt, stepsPerEpoch, validateLrConfig } from './schedule.js';
import { checkStateFits, type DataCursor, type EpochSums, TRAIN_STATE_VERSION, type TrainState, writeWeights } from './state.js';
import { optimizationStep, trainableParams } from './step.js';
import type { Task } from './task.js';
import { type TensorRecord, toRecord } from './tensorRecord.js';
import { yieldToEventLoop } from './yield.js';

export interface TrainerOptions {
  task: Task;
  batchSize: number;
  optimizer: OptimizerConfig;
  lr: LrConfig;
  /** Seed of the shuffle (default 0). Same seed, data and initial weights → bit-identical weights. */
  seed?: number;
  /** Shuffle every epoch (default true); false visits samples in order. */
  shuffle?: boolean;
  /** Skip an epoch's last, smaller batch (default false). */
  dropLast?: boolean;
  /**
   * Applied to the x of every batch fit() trains on (augmentation), never to validation; trainStep()
   * takes its batch as given. Absent: the step does no extra work at all.
   */
  transformBatch?: BatchTransform;
}

export interface FitOptions {
  /** Train until this many epochs are complete (absolute, so a resumed run passes the same number). */
  epochs: number;
  /** Stop after this many steps in this call (one data-parallel round), even mid-epoch. */
  maxSteps?: number;
  callbacks?: TrainCallbacks;
  /** Checked between steps; an aborted run stops cleanly and its state can still be exported. */
  signal?: AbortSignal;
  /** Evaluated in inference mode after every epoch (valLoss, valAccuracy / valMae). */
  validation?: Dataset;
  validationBatchSize?: number;
  /**
   * Needs `validation`. Stops after its patience runs out ('early-stopped') and, when the run ends that
   * way or completes, leaves the model holding the best epoch's weights. The caller owns (and disposes)
   * the tracker, so it spans several fit calls (rounds) of one run.
   */
  earlyStopping?: EarlyStopping;
}

export interface FitResult {
  stop: 'completed' | 'max-steps' | 'aborted' | 'early-stopped';
  step: number;
  epoch: number;
  /** Epochs completed during this call. */
  history: EpochLog[];
}

export interface StepResult {
  loss: number;
  /** Sum over the batch: correct predictions (classification) or absolute errors (regression). */
  metricSum: number;
  samples: number;
  lr: number;
}

export class Trainer {
  readonly model: tfl.LayersModel;
  readonly task: Task;
  private readonly data: Dataset;
  private readonly n: number;
  private readonly opts: TrainerOptions;
  private readonly optimizer: Optimizer;
  private stepCount = 0;
  private cursor: DataCursor;
  private sums: EpochSums = emptySums();
  /** The current epoch's sample order, drawn lazily from cursor.epochRng; null = not drawn yet. */
  private order: Int32Array | null = null;
  private orderEpoch = -1;
  private nextEpochRng = 0;

  constructor(model: tfl.LayersModel, data: Dataset, opts: TrainerOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    validateLrConfig(opts.lr);
    this.n = validateDataset(data, opts.task);
    checkTargetsFitModel(model, data, opts.task, this.n);
    if (opts.dropLast && this.n < opts.batchSize) throw new Error(`dropLast with ${this.n} samples and batch size ${opts.batchSize} leaves no batch`);
    this.model = model;
    this.task = opts.task;
    this.data = data;
    this.opts = opts;
    this.optimizer = createOptimizer(opts.optimizer);
    this.cursor = { epoch: 0, batchInEpoch: 0, epochRng: (opts.seed ?? 0) >>> 0 };
  }

  /** Updates applied so far. */
  get step(): number {
    return this.stepCount;
  }
  /** The epoch in progress (or about to start). */
  get epoch(): number {
    return this.cursor.epoch;
  }
  /** Batches of the current epoch already trained (== stepsPerEpoch just before the epoch is closed). */
  get batchInEpoch(): number {
    return this.cursor.batchInEpoch;
  }
  get stepsPerEpoch(): number {
    return stepsPerEpoch(this.n, this.opts.batchSize, this.opts.dropLast);
  }
  get sampleCount(): number {
    return this.n;
  }

  /** One update on the given batch (x [B, ...], y [B] int32 or [B, targets]); advances the global step
   *  (and so the LR schedule) but not the data cursor. */
  trainStep(x: tf.Tensor, y: tf.Tensor): StepResult {
    const lr = learningRateAt(this.opts.lr, this.stepCount);
    const out = optimizationStep({
      model: this.model,
      task: this.task,
      optimizer: this.optimizer,
      params: trainableParams(this.model),
      x,
      y,
      lr,
      t: this.stepCount + 1,
    });
    const [loss, metricSum] = out.dataSync();
    out.dispose();
    this.stepCount++;
    return { loss: loss!, metricSum: metricSum!, samples: x.shape[0]!, lr };
  }

  async fit(o: FitOptions): Promise<FitResult> {
    const cb = o.callbacks ?? {};
    const history: EpochLog[] = [];
    const spe = this.stepsPerEpoch;
    let steps = 0;
    let resumed = this.cursor.batchInEpoch > 0;
    const es = o.earlyStopping;
    if (es && !o.validation) throw new Error('earlyStopping needs validation data');
    if (es?.metric === 'accuracy' && this.task !== 'classification') throw new Error("early stopping on 'accuracy' needs a classification task");
    for (;;) {
      // Patience running out on the last epoch still counts as completing the run.
      if (this.cursor.epoch >= o.epochs) {
        es?.restoreBest();
        return this.result('completed', history);
      }
      if (es?.stopped) {
        es.restoreBest();
        return this.result('early-stopped', history);
      }
      if (o.maxSteps != null && steps >= o.maxSteps) return this.result('max-steps', history);
      if (o.signal?.aborted) return this.result('aborted', history);
      const { epoch, batchInEpoch } = this.cursor;
      if (batchInEpoch === 0 || resumed) await cb.onEpochStart?.(epoch, { resumed });
      resumed = false;

      const r = this.stepOnNextBatch();
      steps++;
      if (cb.onStepEnd) await cb.onStepEnd(this.stepLog(epoch, r));
      if (this.cursor.batchInEpoch === spe) {
        const log = await this.finishEpoch(o, cb);
        history.push(log);
        es?.observe(log, this.model); // a stop is acted on at the top of the loop
      }
      await yieldToEventLoop();
    }
  }

  private stepOnNextBatch(): StepResult {
    const order = this.epochOrder();
    const from = this.cursor.batchInEpoch * this.opts.batchSize;
    const to = Math.min(this.n, from + this.opts.batchSize);
    const batch = makeBatch(this.data, this.task, order, from, to);
    let x = batch.x;
    try {
      const transform = this.opts.transformBatch;
      if (transform) x = applyBatchTransform(transform, batch.x, { step: this.stepCount, epoch: this.cursor.epoch, seed: this.opts.seed ?? 0 });
      const r = this.trainStep(x, batch.y);
      this.cursor.batchInEpoch++;
      this.sums.loss += r.loss * r.samples;
      this.sums.metric += r.metricSum;
      this.sums.samples += r.samples;
      this.sums.batches++;
      return r;
    } finally {
      if (x !== batch.x) x.dispose();
      batch.x.dispose();
      batch.y.dispose();
    }
  }

  /** The current epoch's permutation, drawn from the epoch's PRNG state (again, after a resume). */
  private epochOrder(): Int32Array | null {
    if (this.opts.shuffle === false) {
      this.nextEpochRng = this.cursor.epochRng;
      return null;
    }
    if (this.order == null || this.orderEpoch !== this.cursor.epoch) {
      const rng = new Rng(this.cursor.epochRng);
      this.order = permutation(this.n, rng);
      this.orderEpoch = this.cursor.epoch;
      this.nextEpochRng = rng.state;
    }
    return this.order;
  }

  private async finishEpoch(o: FitOptions, cb: TrainCallbacks): Promise<EpochLog> {
    const s = this.sums;
    const log: EpochLog = { epoch: this.cursor.epoch, steps: s.batches, samples: s.samples, loss: s.loss / s.samples };
    if (this.task === 'classification') log.accuracy = s.metric / s.samples;
    else log.mae = s.metric / (s.samples * this.targetsPerSample());
    if (o.validation) {
      const v = evaluateDataset(this.model, o.validation, this.task, o.validationBatchSize ?? 256);
      log.valLoss = v.loss;
      if (v.accuracy != null) log.valAccuracy = v.accuracy;
      if (v.mae != null) log.valMae = v.mae;
    }
    this.epochOrder(); // make sure nextEpochRng belongs to this epoch even if no batch drew it
    this.cursor = { epoch: this.cursor.epoch + 1, batchInEpoch: 0, epochRng: this.nextEpochRng };
    this.sums = emptySums();
    this.order = null;
    await cb.onEpochEnd?.(log);
    return log;
  }

  private stepLog(epoch: number, r: StepResult): StepLog {
    const log: StepLog = { epoch, step: this.stepCount, loss: r.loss, lr: r.lr, samples: r.samples };
    if (this.task === 'classification') log.accuracy = r.metricSum / r.samples;
    else log.mae = r.metricSum / (r.samples * this.targetsPerSample());
    return log;
  }

  private targetsPerSample(): number {
    return this.data.y.length / this.n;
  }

  private result(stop: FitResult['stop'], history: EpochLog[]): FitResult {
    return { stop, step: this.stepCount, epoch: this.cursor.epoch, history };
  }

  exportState(): TrainState {
    const weights: Record<string, TensorRecord> = {};
    for (const w of this.model.weights) {
      if (w.originalName in weights) throw new Error(`two model weights are both named '${w.originalName}'`);
      weights[w.originalName] = toRecord(w.read());
    }
    return {
      version: TRAIN_STATE_VERSION,
      step: this.stepCount,
      cursor: { ...this.cursor },
      sums: { ...this.sums },
      optimizer: { kind: this.optimizer.kind, slots: this.optimizer.exportSlots() },
      weights,
    };
  }

  /**
   * Load a state exported by a trainer of the same model and optimizer. With `cursor: false` only the
   * weights, optimizer slots and step are taken (a shard adopting the round's merged global state
   * keeps its own position in its own data).
   */
  importState(state: TrainState, opts: { cursor?: boolean } = {}): void {
    checkStateFits(this.model, state, this.optimizer.kind);
    writeWeights(this.model, state.weights);
    this.optimizer.importSlots(state.optimizer.slots);
    this.stepCount = state.step;
    if (opts.cursor !== false) {
      this.cursor = { ...state.cursor };
      this.sums = { ...state.sums };
      this.order = null;
    }
  }

  /** Frees the optimizer's slots (the model belongs to the caller). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Fail fast on labels the logits cannot express (oneHot would silently give them an all-zero row)
 *  or on targets whose width differs from the model's output. */
function checkTargetsFitModel(model: tfl.LayersModel, data: Dataset, task: Task, n: number): void {
  if (model.outputs.length !== 1) throw new Error(`expected a model with one output, got ${model.outputs.length}`);
  const out = model.outputs[0]!.shape;
  const width = out[out.length - 1];
  if (out.length !== 2 || width == null) throw new Error(`expected model output [batch, units], got [${out.join(', ')}]`);
  if (task === 'classification') {
    let max = 0;
    for (const l of data.y) {
      if (l < 0 || !Number.isInteger(l)) throw new Error(`label ${l} is not a class index`);
      if (l > max) max = l;
    }
    if (max >= width) throw new Error(`label ${max} needs at least ${max + 1} logits, the model has ${width}`);
  } else if (data.y.length / n !== width) {
    throw new Error(`${data.y.length / n} targets per sample, the model outputs ${width}`);
  }
}

function emptySums(): EpochSums {
  return { loss: 0, metric: 0, samples: 0, batches: 0 };
}

// Data-parallel training in synchronised rounds (DESIGN §5). The training set is cut into N equal,
// disjoint shards; every round, each shard starts from the same global state (weights, optimizer
// slots, observer ranges, batch-norm statistics, global step), trains `syncEvery` steps on its own
// data with its own cursor, and hands its state back; the states are merged (shardMerge.ts) into the
// next global state. Rounds never cross an epoch boundary, so every epoch ends on merged weights and
// is validated there.
//
// Where shards run is the caller's: a RoundRunner takes one round's request and returns the merged
// outcome — in this process one shard after another (localRoundRunner), or as BullMQ jobs on other
// workers. Each shard trains with batch ⌈batchSize / N⌉, so the global batch and the learning rate mean
// what they mean for one process; with plain SGD and syncEvery 1 a round is exactly one step on the
// union of the shards' batches.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BatchTransform } from './batchTransform.js';
import type { EpochLog, TrainCallbacks } from './callbacks.js';
import { type Dataset, sampleSize, validateDataset } from './dataset.js';
import { evaluateDataset } from './evaluate.js';
import type { OptimizerConfig } from './optimizers.js';
import { deriveSeed } from './rng.js';
import { type LrConfig, learningRateAt, stepsPerEpoch, validateLrConfig } from './schedule.js';
import { type MergeOptions, mergeShardStates } from './shardMerge.js';
import { checkStateFits, type DataCursor, type EpochSums, TRAIN_STATE_VERSION, type TrainState, writeWeights } from './state.js';
import type { Task } from './task.js';
import { type TensorRecord, toRecord } from './tensorRecord.js';
import type { FitOptions, FitResult, TrainerOptions } from './trainer.js';
import { Trainer } from './trainer.js';
import { yieldToEventLoop } from './yield.js';

/** One shard's position in its own data. */
export interface ShardProgress {
  cursor: DataCursor;
  sums: EpochSums;
}

/** What every shard of one round needs besides its data and model. */
export interface RoundRequest {
  /** 0-based, counted over the phase. */
  round: number;
  /** The merged state the round starts from (its cursor and sums are not used). */
  global: TrainState;
  shards: ShardProgress[];
  /** Steps every shard trains this round. */
  steps: number;
}

/** One shard's part of a round. */
export interface ShardRoundResult {
  shard: number;
  state: TrainState;
  /** Samples trained this round, and the sums of loss·samples and of the task metric over them. */
  samples: number;
  lossSum: number;
  metricSum: number;
  /** The shard's own epoch, when this round closed it. */
  epochLog?: EpochLog;
}

/** A merged round: the next global state, and each shard's summary (its state is no longer needed). */
export interface RoundOutcome {
  merged: TrainState;
  shards: Array<Omit<ShardRoundResult, 'state'> & { progress: ShardProgress }>;
}

export type RoundRunner = (request: RoundRequest) => Promise<RoundOutcome>;

/** The serialisable description of a shard's trainer (a remote runner rebuilds it from this). */
export interface ShardTrainerSpec {
  task: Task;
  /** Per shard: ⌈batchSize / shards⌉. */
  batchSize: number;
  optimizer: OptimizerConfig;
  lr: LrConfig;
  seed: number;
  shuffle: boolean;
}

export interface DataParallelOptions {
  shards: number;
  syncEvery: number;
  runner: RoundRunner;
}

/** Shard k of n: samples k, k+n, k+2n, … cut to ⌊N/n⌋ so every shard has the same steps per epoch. */
export function shardOf(data: Dataset, shards: number, k: number): Dataset {
  const size = sampleSize(data);
  const n = data.x.length / size;
  const per = data.y.length / n;
  const len = Math.floor(n / shards);
  const x = new Float32Array(len * size);
  const y = data.y instanceof Int32Array ? new Int32Array(len * per) : new Float32Array(len * per);
  for (let j = 0; j < len; j++) {
    const i = j * shards + k;
    x.set(data.x.subarray(i * size, (i + 1) * size), j * size);
    y.set(data.y.subarray(i * per, (i + 1) * per), j * per);
  }
  return { x, y, sampleShape: data.sampleShape.slice() };
}

export function shardTrainerSpec(o: TrainerOptions, shards: number): ShardTrainerSpec {
  return { task: o.task, batchSize: Math.ceil(o.batchSize / shards), optimizer: o.optimizer, lr: o.lr, seed: o.seed ?? 0, shuffle: o.shuffle !== false };
}

/** Each shard shuffles and augments with its own stream. */
export const shardSeed = (seed: number, shard: number): number => deriveSeed(seed, `shard-${shard}`);

/**
 * One shard's round: adopt the global state with the shard's own cursor, train `steps` steps, export.
 * `onEpochStart` is where a QAT schedule acts (the round may start or resume an epoch).
 */
export async function trainShardRound(a: {
  model: tfl.LayersModel;
  data: Dataset;
  spec: ShardTrainerSpec;
  request: RoundRequest;
  shard: number;
  transformBatch?: BatchTransform;
  onEpochStart?: (epoch: number) => void;
  signal?: AbortSignal;
}): Promise<ShardRoundResult> {
  const { spec, request, shard } = a;
  const progress = request.shards[shard];
  if (!progress) throw new Error(`round ${request.round} has no shard ${shard}`);
  const trainer = new Trainer(a.model, a.data, {
    task: spec.task,
    batchSize: spec.batchSize,
    optimizer: spec.optimizer,
    lr: spec.lr,
    seed: shardSeed(spec.seed, shard),
    shuffle: spec.shuffle,
    ...(a.transformBatch ? { transformBatch: a.transformBatch } : {}),
  });
  try {
    trainer.importState({ ...request.global, cursor: progress.cursor, sums: progress.sums });
    let samples = 0;
    let lossSum = 0;
    let metricSum = 0;
    // Regression: a step's mae is per target; the sums are per sample (as the Trainer's epoch sums).
    const targetsPerSample = a.data.y.length / (a.data.x.length / sampleSize(a.data));
    const result = await trainer.fit({
      epochs: progress.cursor.epoch + 1,
      maxSteps: request.steps,
      ...(a.signal ? { signal: a.signal } : {}),
      callbacks: {
        onEpochStart: (epoch) => a.onEpochStart?.(epoch),
        onStepEnd: (s) => {
          const b = s.samples ?? 0;
          samples += b;
          lossSum += s.loss * b;
          metricSum += (spec.task === 'classification' ? (s.accuracy ?? 0) : (s.mae ?? 0) * targetsPerSample) * b;
        },
      },
    });
    if (result.stop === 'aborted') throw new Error(`shard ${shard} was stopped during round ${request.round}`);
    if (result.step - request.global.step !== request.steps) {
      throw new Error(`shard ${shard} trained ${result.step - request.global.step} steps in round ${request.round}, ${request.steps} were asked`);
    }
    const epochLog = result.history[0];
    return { shard, state: trainer.exportState(), samples, lossSum, metricSum, ...(epochLog ? { epochLog } : {}) };
  } finally {
    trainer.dispose();
  }
}

/** Merges a round's shard results into its outcome (what a round's parent does). */
export function mergeRound(results: readonly ShardRoundResult[], o: MergeOptions): RoundOutcome {
  const sorted = [...results].sort((a, b) => a.shard - b.shard);
  sorted.forEach((r, i) => {
    if (r.shard !== i) throw new Error(`round results hold shards ${sorted.map((s) => s.shard).join(', ')}`);
  });
  const merged = mergeShardStates(
    sorted.map((r) => r.state),
    sorted.map((r) => r.samples),
    o,
  );
  return {
    merged,
    shards: sorted.map(({ state, ...rest }) => ({ ...rest, progress: { cursor: { ...state.cursor }, sums: { ...state.sums } } })),
  };
}

/** Runs every shard in this process, one after another, on one model (tests, and a single machine without workers). */
export function localRoundRunner(a: {
  model: tfl.LayersModel;
  shards: Dataset[];
  spec: ShardTrainerSpec;
  merge: MergeOptions;
  transformBatch?: (shard: number) => BatchTransform | undefined;
  onEpochStart?: (epoch: number) => void;
}): RoundRunner {
  return async (request) => {
    const results: ShardRoundResult[] = [];
    for (let k = 0; k < a.shards.length; k++) {
      const transformBatch = a.transformBatch?.(k);
      results.push(
        await trainShardRound({
          model: a.model,
          data: a.shards[k]!,
          spec: a.spec,
          request,
          shard: k,
          ...(transformBatch ? { transformBatch } : {}),
          ...(a.onEpochStart ? { onEpochStart: a.onEpochStart } : {}),
        }),
      );
    }
    return mergeRound(results, a.merge);
  };
}

/**
 * The coordinator: the same surface as Trainer (fit, state export/import, step and cursor), with each
 * "step" a round run by the runner. The model holds the merged weights between rounds; validation and
 * early stopping act on them at every epoch end.
 */
export class RoundTrainer {
  readonly model: tfl.LayersModel;
  readonly task: Task;
  private readonly opts: TrainerOptions;
  private readonly dp: DataParallelOptions;
  private readonly spe: number;
  private readonly targetsPerSample: number;
  private stepCount = 0;
  private roundCount = 0;
  private epochIndex = 0;
  private batchIndex = 0;
  private sums: EpochSums = { loss: 0, metric: 0, samples: 0, batches: 0 };
  private slots: Record<string, TensorRecord> = {};
  private shards: ShardProgress[];

  constructor(model: tfl.LayersModel, data: Dataset, opts: TrainerOptions, dp: DataParallelOptions) {
    if (!Number.isInteger(dp.shards) || dp.shards < 1) throw new Error(`shards must be a positive integer, got ${dp.shards}`);
    if (!Number.isInteger(dp.syncEvery) || dp.syncEvery < 1) throw new Error(`syncEvery must be a positive integer, got ${dp.syncEvery}`);
    validateLrConfig(opts.lr);
    const n = validateDataset(data, opts.task);
    const shardLen = Math.floor(n / dp.shards);
    const spec = shardTrainerSpec(opts, dp.shards);
    if (shardLen < 1) throw new Error(`${n} samples cannot make ${dp.shards} shards`);
    if (opts.dropLast) throw new Error('data-parallel rounds do not drop last batches (dropLast is not supported)');
    this.model = model;
    this.task = opts.task;
    this.opts = opts;
    this.dp = dp;
    this.spe = stepsPerEpoch(shardLen, spec.batchSize);
    this.targetsPerSample = data.y.length / n;
    this.shards = Array.from({ length: dp.shards }, (_, k) => ({
      cursor: { epoch: 0, batchInEpoch: 0, epochRng: shardSeed(spec.seed, k) >>> 0 },
      sums: { loss: 0, metric: 0, samples: 0, batches: 0 },
    }));
  }

  get step(): number {
    return this.stepCount;
  }
  get epoch(): number {
    return this.epochIndex;
  }
  get batchInEpoch(): number {
    return this.batchIndex;
  }
  get stepsPerEpoch(): number {
    return this.spe;
  }
  get round(): number {
    return this.roundCount;
  }

  async fit(o: FitOptions): Promise<FitResult> {
    const cb: TrainCallbacks = o.callbacks ?? {};
    const history: EpochLog[] = [];
    const es = o.earlyStopping;
    if (es && !o.validation) throw new Error('earlyStopping needs validation data');
    let steps = 0;
    let resumed = this.batchIndex > 0;
    const result = (stop: FitResult['stop']): FitResult => ({ stop, step: this.stepCount, epoch: this.epochIndex, history });
    for (;;) {
      if (this.epochIndex >= o.epochs) {
        es?.restoreBest();
        return result('completed');
      }
      if (es?.stopped) {
        es.restoreBest();
        return result('early-stopped');
      }
      if (o.maxSteps != null && steps >= o.maxSteps) return result('max-steps');
      if (o.signal?.aborted) return result('aborted');
      const epoch = this.epochIndex;
      if (this.batchIndex === 0 || resumed) await cb.onEpochStart?.(epoch, { resumed });
      resumed = false;

      const roundSteps = Math.min(this.dp.syncEvery, this.spe - this.batchIndex);
      const outcome = await this.dp.runner({ round: this.roundCount, global: this.exportState(), shards: this.shards, steps: roundSteps });
      this.adopt(outcome, roundSteps);
      steps += roundSteps;
      const samples = outcome.shards.reduce((a, s) => a + s.samples, 0);
      const lossSum = outcome.shards.reduce((a, s) => a + s.lossSum, 0);
      const metricSum = outcome.shards.reduce((a, s) => a + s.metricSum, 0);
      this.sums.loss += lossSum;
      this.sums.metric += metricSum;
      this.sums.samples += samples;
      this.sums.batches += roundSteps;
      const metric = metricSum / samples;
      await cb.onRoundEnd?.({
        round: this.roundCount - 1,
        steps: roundSteps,
        shards: outcome.shards.map((s) => ({ shard: s.shard, epoch: s.progress.cursor.epoch, batchInEpoch: s.progress.cursor.batchInEpoch, samples: s.samples, loss: s.lossSum / s.samples })),
      });
      await cb.onStepEnd?.({
        epoch,
        step: this.stepCount,
        loss: lossSum / samples,
        lr: learningRateAt(this.opts.lr, this.stepCount - 1),
        samples,
        ...(this.task === 'classification' ? { accuracy: metric } : { mae: metric / this.targetsPerSample }),
      });
      if (this.batchIndex === this.spe) {
        const log = this.finishEpoch(o);
        await cb.onEpochEnd?.(log);
        for (const s of outcome.shards) if (s.epochLog) await cb.onShardEpochEnd?.(s.shard, s.epochLog);
        history.push(log);
        es?.observe(log, this.model);
      }
      await yieldToEventLoop();
    }
  }

  private adopt(outcome: RoundOutcome, roundSteps: number): void {
    const m = outcome.merged;
    checkStateFits(this.model, m, this.opts.optimizer.kind);
    if (outcome.shards.length !== this.shards.length) throw new Error(`round ${this.roundCount} came back with ${outcome.shards.length} shards, ${this.shards.length} were sent`);
    if (m.step !== this.stepCount + roundSteps) throw new Error(`round ${this.roundCount} came back at step ${m.step}, expected ${this.stepCount + roundSteps}`);
    writeWeights(this.model, m.weights);
    this.slots = m.optimizer.slots;
    this.stepCount = m.step;
    this.shards = outcome.shards.map((s) => s.progress);
    this.batchIndex += roundSteps;
    this.roundCount++;
  }

  private finishEpoch(o: FitOptions): EpochLog {
    const s = this.sums;
    const log: EpochLog = { epoch: this.epochIndex, steps: s.batches, samples: s.samples, loss: s.loss / s.samples };
    if (this.task === 'classification') log.accuracy = s.metric / s.samples;
    else log.mae = s.metric / (s.samples * this.targetsPerSample);
    if (o.validation) {
      const v = evaluateDataset(this.model, o.validation, this.task, o.validationBatchSize ?? 256);
      log.valLoss = v.loss;
      if (v.accuracy != null) log.valAccuracy = v.accuracy;
      if (v.mae != null) log.valMae = v.mae;
    }
    this.epochIndex++;
    this.batchIndex = 0;
    this.sums = { loss: 0, metric: 0, samples: 0, batches: 0 };
    return log;
  }

  exportState(): TrainState {
    const weights: Record<string, TensorRecord> = {};
    for (const w of this.model.weights) weights[w.originalName] = toRecord(w.read());
    return {
      version: TRAIN_STATE_VERSION,
      step: this.stepCount,
      cursor: { epoch: this.epochIndex, batchInEpoch: this.batchIndex, epochRng: 0 },
      sums: { ...this.sums },
      optimizer: { kind: this.opts.optimizer.kind, slots: this.slots },
      weights,
      shards: this.shards.map((s) => ({ cursor: { ...s.cursor }, sums: { ...s.sums } })),
      round: this.roundCount,
    };
  }

  importState(state: TrainState): void {
    checkStateFits(this.model, state, this.opts.optimizer.kind);
    if (!state.shards || state.shards.length !== this.shards.length) {
      throw new Error(`state holds ${state.shards?.length ?? 0} shard positions, this run has ${this.shards.length} shards`);
    }
    writeWeights(this.model, state.weights);
    this.slots = state.optimizer.slots;
    this.stepCount = state.step;
    this.epochIndex = state.cursor.epoch;
    this.batchIndex = state.cursor.batchInEpoch;
    this.sums = { ...state.sums };
    this.shards = state.shards.map((s) => ({ cursor: { ...s.cursor }, sums: { ...s.sums } }));
    this.roundCount = state.round ?? 0;
  }

  dispose(): void {
    this.slots = {};
  }
}

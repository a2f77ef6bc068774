// Early stopping on a validation metric, with the best epoch's weights kept and restored. The snapshot
// covers every model weight, trainable or not: batch-norm statistics, QAT observer ranges and their
// "seen" flags all live in non-trainable layer variables, so restoring them restores the quantizers.
// Snapshots stay on the device (a clone shares the buffer the update kernels never write in place), so
// an improving epoch costs no download and a step costs nothing at all.
import * as tf from '../tf.js';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import type { EpochLog } from './callbacks.js';
import { assertRecordFits, fromRecord, type TensorRecord, toRecord } from './tensorRecord.js';

/** The tracker as plain data, for checkpoints: counters and the best epoch's weights by stable name. */
export interface EarlyStoppingState {
  bestEpoch: number | null;
  bestValue: number;
  wait: number;
  stopped: boolean;
  modelIsBest: boolean;
  snapshot: Record<string, TensorRecord> | null;
}

export interface EarlyStoppingConfig {
  /** Stop once this many consecutive epochs did not improve on the best one (integer >= 1). */
  patience: number;
  /** An improvement must beat the best by more than this (default 0). */
  minDelta?: number;
  /** 'loss' (default): validation loss, lower is better. 'accuracy' (classification): higher is better. */
  metric?: 'loss' | 'accuracy';
}

export function validateEarlyStopping(c: EarlyStoppingConfig): void {
  if (!Number.isInteger(c.patience) || c.patience < 1) throw new RangeError(`earlyStopping.patience must be an integer >= 1, got ${c.patience}`);
  const d = c.minDelta ?? 0;
  if (!(d >= 0) || !Number.isFinite(d)) throw new RangeError(`earlyStopping.minDelta must be a finite number >= 0, got ${d}`);
  if (c.metric !== undefined && c.metric !== 'loss' && c.metric !== 'accuracy') throw new RangeError(`earlyStopping.metric must be 'loss' or 'accuracy', got ${String(c.metric)}`);
}

/** Tracks the best epoch across one or more fit calls; the owner disposes it (it holds the snapshot). */
export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  readonly metric: 'loss' | 'accuracy';
  /** Epoch (0-based, as in EpochLog) of the best validation value so far; null before any finite one. */
  bestEpoch: number | null = null;
  bestValue = Number.NaN;
  /** Consecutive epochs since the best. */
  wait = 0;
  stopped = false;
  private snapshot: Array<[LayerVariable, tf.Tensor]> | null = null;
  /** Whether the model still holds the snapshot's values (nothing to restore). */
  private modelIsBest = false;

  constructor(config: EarlyStoppingConfig) {
    validateEarlyStopping(config);
    this.patience = config.patience;
    this.minDelta = config.minDelta ?? 0;
    this.metric = config.metric ?? 'loss';
  }

  /** The value this tracker compares, from an epoch's log (validation must have run). */
  metricOf(log: EpochLog): number {
    const v = this.metric === 'loss' ? log.valLoss : log.valAccuracy;
    if (v === undefined) {
      throw new Error(this.metric === 'loss' ? 'early stopping needs validation data' : "early stopping on 'accuracy' needs a classification task with validation data");
    }
    return v;
  }

  /**
   * Folds in an epoch that just ended (the model holds its weights): snapshots them when they improve
   * on the best, counts the epoch against the patience otherwise. Returns true when training should stop.
   */
  observe(log: EpochLog, model: LayersModel): boolean {
    const v = this.metricOf(log);
    const better =
      this.bestEpoch === null ? Number.isFinite(v) : this.metric === 'loss' ? v < this.bestValue - this.minDelta : v > this.bestValue + this.minDelta;
    if (better) {
      this.bestEpoch = log.epoch;
      this.bestValue = v;
      this.wait = 0;
      this.takeSnapshot(model);
    } else {
      this.wait++;
      this.modelIsBest = false;
    }
    if (this.wait >= this.patience) this.stopped = true;
    return this.stopped;
  }

  /** Writes the best epoch's weights back into the model; false when there is none or it already holds them. */
  restoreBest(): boolean {
    if (this.snapshot === null || this.modelIsBest) return false;
    for (const [w, t] of this.snapshot) w.write(t);
    this.modelIsBest = true;
    return true;
  }

  exportState(): EarlyStoppingState {
    return {
      bestEpoch: this.bestEpoch,
      bestValue: this.bestValue,
      wait: this.wait,
      stopped: this.stopped,
      modelIsBest: this.modelIsBest,
      snapshot: this.snapshot ? Object.fromEntries(this.snapshot.map(([w, t]) => [w.originalName, toRecord(t)])) : null,
    };
  }

  /** Takes up a state exported for the same model (checked before anything changes). */
  importState(state: EarlyStoppingState, model: LayersModel): void {
    let snapshot: Array<[LayerVariable, TensorRecord]> | null = null;
    if (state.snapshot) {
      const names = Object.keys(state.snapshot);
      if (names.length !== model.weights.length) throw new Error(`early-stopping snapshot holds ${names.length} weights, the model has ${model.weights.length}`);
      snapshot = model.weights.map((w) => {
        const r = state.snapshot![w.originalName];
        if (!r) throw new Error(`early-stopping snapshot lacks the model weight '${w.originalName}'`);
        assertRecordFits(w.originalName, r, w.shape as number[]);
        return [w, r];
      });
    }
    this.dispose();
    this.bestEpoch = state.bestEpoch;
    this.bestValue = state.bestValue;
    this.wait = state.wait;
    this.stopped = state.stopped;
    this.snapshot = snapshot ? snapshot.map(([w, r]) => [w, tf.keep(fromRecord(r))]) : null;
    this.modelIsBest = this.snapshot !== null && state.modelIsBest;
  }

  dispose(): void {
    if (this.snapshot) for (const [, t] of this.snapshot) t.dispose();
    this.snapshot = null;
    this.modelIsBest = false;
  }

  private takeSnapshot(model: LayersModel): void {
    this.dispose();
    // keep(): a caller inside a tidy must not free the snapshot when its scope ends.
    this.snapshot = model.weights.map((w) => [w, tf.keep(tf.clone(w.read()))]);
    this.modelIsBest = true;
  }
}

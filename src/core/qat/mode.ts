// Switches every QAT layer of a model at once: training schedules (freeze observers / BN after an
// epoch), post-training calibration, and weights-only evaluation.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { QatLinear } from './layers/qatLinear.js';
import { QatQuantize } from './layers/qatQuantize.js';
import type { QatModeFlags } from './layers/ranges.js';

export type QatLayer = QatLinear | QatQuantize;

export function qatLayers(model: LayersModel): QatLayer[] {
  return model.layers.filter((l): l is QatLayer => l instanceof QatLinear || l instanceof QatQuantize);
}

export function setQatMode(model: LayersModel, flags: Partial<QatModeFlags>): void {
  for (const layer of qatLayers(model)) Object.assign(layer.mode, flags);
}

export interface QatSchedule {
  /** From this epoch (0-based) on, activation ranges stop moving. */
  freezeObserversAtEpoch?: number;
  /** From this epoch on, BN uses and keeps its running statistics. */
  freezeBatchNormAtEpoch?: number;
}

/** Call at the start of every epoch (the trainer's onEpochStart); derived from the epoch, so a resumed run agrees. */
export function applySchedule(model: LayersModel, epoch: number, schedule: QatSchedule): void {
  setQatMode(model, {
    observersFrozen: schedule.freezeObserversAtEpoch !== undefined && epoch >= schedule.freezeObserversAtEpoch,
    batchNormFrozen: schedule.freezeBatchNormAtEpoch !== undefined && epoch >= schedule.freezeBatchNormAtEpoch,
  });
}

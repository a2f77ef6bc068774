// Merging the states shards hand back after a data-parallel round (DESIGN §5): weights and optimizer
// slots by sample count (averageStates), range observers as the quantizer they belong to would have
// seen the union of the shards' data — min of minimums and max of maximums for min/max observers, the
// mean for EMA observers (each already an average), "seen" if any shard saw data — and batch-norm
// running statistics pooled exactly: the variance of the union is the mean of the variances plus the
// variance of the means.
import { averageStates, type Reduction } from './averageStates.js';
import type { TrainState } from './state.js';

export interface MergeOptions {
  /** How activation ranges are observed: 'minmax' ranges merge as min/max, 'ema' and 'lsq' ones as means. */
  activationObserver: 'ema' | 'minmax' | 'lsq';
}

/** The reduction for one weight or slot, by the stable names src/core/qat gives range variables. */
export function reductionFor(name: string, o: MergeOptions): Reduction {
  if (name.endsWith('_seen')) return 'max';
  if (o.activationObserver === 'minmax') {
    if (name.endsWith('_min')) return 'min';
    if (name.endsWith('_max')) return 'max';
  }
  return 'mean';
}

const VARIANCE = /(moving_variance)$/;

export function mergeShardStates(states: readonly TrainState[], sampleCounts: readonly number[], o: MergeOptions): TrainState {
  const merged = averageStates(states, sampleCounts, { reduction: (name) => reductionFor(name, o) });
  const total = sampleCounts.reduce((a, b) => a + b, 0);
  for (const name of Object.keys(merged.weights)) {
    if (!VARIANCE.test(name)) continue;
    const meanName = name.replace(VARIANCE, 'moving_mean');
    const mean = merged.weights[meanName];
    if (!mean) continue;
    // Pooled: Σ w_k·var_k (already in merged) + Σ w_k·(mean_k − mean)².
    const out = merged.weights[name]!.data as Float32Array;
    const spread = new Float64Array(out.length);
    states.forEach((s, k) => {
      const w = sampleCounts[k]! / total;
      const mk = s.weights[meanName]!.data;
      for (let i = 0; i < out.length; i++) spread[i]! += w * (mk[i]! - mean.data[i]!) ** 2;
    });
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + spread[i]!;
  }
  return merged;
}

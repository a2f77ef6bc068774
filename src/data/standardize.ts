// Standardisation with training statistics: (x − mean) / std per feature, computed on the training
// split only and applied identically to every other split (and saved with the dataset).
import type { Dataset } from '../core/train/dataset.js';

export interface Standardization {
  mean: number[];
  /** 1 where a feature is constant in training (as scikit-learn's StandardScaler does). */
  std: number[];
}

export function fitStandardization(train: Dataset): Standardization {
  const f = train.sampleShape.reduce((a, b) => a * b, 1);
  const n = train.x.length / f;
  const sum = new Float64Array(f);
  const sq = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const v = train.x[i * f + j]!;
      sum[j] = sum[j]! + v;
      sq[j] = sq[j]! + v * v;
    }
  }
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, j) => {
    const variance = Math.max(0, s / n - mean[j]! ** 2);
    return variance > 1e-24 ? Math.sqrt(variance) : 1;
  });
  return { mean, std };
}

export function applyStandardization(d: Dataset, s: Standardization): Dataset {
  const f = s.mean.length;
  const x = new Float32Array(d.x.length);
  for (let i = 0; i < d.x.length; i++) x[i] = (d.x[i]! - s.mean[i % f]!) / s.std[i % f]!;
  return { ...d, x };
}

/** (x − mean) / std rewriting the caller's arrays, for a loader that owns them (no second copy of the data). */
export function standardizeInPlace(d: Dataset, s: Standardization): void {
  const f = s.mean.length;
  const mean = Float64Array.from(s.mean);
  const std = Float64Array.from(s.std);
  const x = d.x;
  for (let at = 0; at < x.length; at += f) for (let j = 0; j < f; j++) x[at + j] = (x[at + j]! - mean[j]!) / std[j]!;
}

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
  // Two passes (mean, then squared deviations): E[x²] − E[x]² cancels catastrophically for features with
  // a large mean and a small spread, and would give a constant feature a tiny std instead of 1.
  const sum = new Float64Array(f);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) sum[j] = sum[j]! + train.x[i * f + j]!;
  const mean = Array.from(sum, (s) => s / n);
  const sq = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) {
      const d = train.x[i * f + j]! - mean[j]!;
      sq[j] = sq[j]! + d * d;
    }
  }
  const std = Array.from(sq, (s, j) => {
    const sd = Math.sqrt(s / n);
    // Constant up to float32 rounding of the values (~1e-7 relative to their magnitude): std 1, as
    // scikit-learn's StandardScaler does, so unseen values are not blown up by 1e5–1e8.
    return sd > 1e-6 * Math.max(1, Math.abs(mean[j]!)) ? sd : 1;
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

// TF.js model outputs over a flat dataset, and their argmax.
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '../../../src/core/tf.js';
import { argmaxRows } from '../../../src/export/index.js';

/** model.predict over [N, ...sampleShape] samples, 256 rows at a time, concatenated. */
export function predictAll(model: tfl.LayersModel, x: Float32Array, sampleShape: number[]): Float32Array {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += 256) {
    const rows = Math.min(256, n - s);
    parts.push(tf.tidy(() => Float32Array.from((model.predict(tf.tensor(x.subarray(s * size, (s + rows) * size), [rows, ...sampleShape])) as tf.Tensor).dataSync() as Float32Array)));
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function accuracyOf(outputs: Float32Array, labels: Int32Array): number {
  const predicted = argmaxRows(outputs, outputs.length / labels.length);
  return predicted.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0) / labels.length;
}

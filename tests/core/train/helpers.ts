// Shared bits of the training tests: small real datasets and weight comparison.
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../../src/core/train/dataset.js';
import type { TrainState } from '../../../src/core/train/state.js';

/** The first n samples of a dataset (its order is already a seeded shuffle). */
export function head(d: Dataset, n: number): Dataset {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const per = d.y.length / (d.x.length / size);
  return { x: d.x.slice(0, n * size), y: d.y.slice(0, n * per), sampleShape: d.sampleShape };
}

/** Samples [from, to) of a dataset. */
export function range(d: Dataset, from: number, to: number): Dataset {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const per = d.y.length / (d.x.length / size);
  return { x: d.x.slice(from * size, to * size), y: d.y.slice(from * per, to * per), sampleShape: d.sampleShape };
}

export function weightsOf(model: tfl.LayersModel): Record<string, Float32Array> {
  return Object.fromEntries(model.weights.map((w) => [w.originalName, w.read().dataSync().slice() as Float32Array]));
}

/** Bit-level equality of every value (NaN-safe, -0 vs 0 distinguished). */
export function bitsEqual(a: Record<string, Float32Array | Int32Array>, b: Record<string, Float32Array | Int32Array>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join() !== kb.join()) return false;
  return ka.every((k) => {
    const x = new Uint8Array(a[k]!.buffer, a[k]!.byteOffset, a[k]!.byteLength);
    const y = new Uint8Array(b[k]!.buffer, b[k]!.byteOffset, b[k]!.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  });
}

export function stateArrays(s: TrainState): { weights: Record<string, Float32Array | Int32Array>; slots: Record<string, Float32Array | Int32Array> } {
  const pick = (r: TrainState['weights']) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data]));
  return { weights: pick(s.weights), slots: pick(s.optimizer.slots) };
}

/** 28×28 digits averaged over 2×2 blocks to 14×14: the same data, a quarter of the conv work, so
 *  convolutional models train fast enough on the CPU backend for unit tests. */
export function halfSize(d: Dataset): Dataset {
  const [h, w] = d.sampleShape as [number, number, number];
  const n = d.x.length / (h * w);
  const oh = h / 2;
  const ow = w / 2;
  const x = new Float32Array(n * oh * ow);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const at = (r: number, c: number) => d.x[s * h * w + r * w + c]!;
        x[s * oh * ow + i * ow + j] = (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1)) / 4;
      }
    }
  }
  return { x, y: d.y, sampleShape: [oh, ow, 1] };
}

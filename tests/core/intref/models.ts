// Small models for conversion/parity tests: built with tfjs-layers, prepared for QAT, ranges observed on
// random data in training mode (BN frozen first, so the observed ranges are the inference-time ones).
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '../../../src/core/tf.js';
import { setQatMode } from '../../../src/core/qat/mode.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import type { QatConfig } from '../../../src/core/qat/config.js';

type ST = tfl.SymbolicTensor;

/** Deterministic uniform [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export function normal(n: number, seed: number, sd = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Non-trivial BN statistics so folding is exercised (fresh layers have gamma 1, beta 0, mean 0, var 1). */
export function randomizeBatchNorm(model: tfl.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const c = layer.getWeights()[0]!.shape[0]!;
    const u = (lo: number, hi: number) => tf.tensor1d(uniform(c, s++, lo, hi));
    layer.setWeights([u(0.5, 1.5), u(-0.3, 0.3), u(-0.2, 0.2), u(0.3, 2)]);
  }
}

export const glorot = (seed: number) => tfl.initializers.glorotUniform({ seed });
export const conv = (x: ST, name: string, filters: number, kernelSize: number, seed: number, extra: Record<string, unknown> = {}) =>
  tfl.layers.conv2d({ name, filters, kernelSize, kernelInitializer: glorot(seed), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }), ...extra }).apply(x) as ST;
export const bn = (x: ST, name: string) => tfl.layers.batchNormalization({ name }).apply(x) as ST;
export const relu = (x: ST, name: string, maxValue?: number) => tfl.layers.reLU({ name, ...(maxValue ? { maxValue } : {}) }).apply(x) as ST;
export const dense = (x: ST, name: string, units: number, seed: number, activation?: string) =>
  tfl.layers.dense({ name, units, kernelInitializer: glorot(seed), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }), ...(activation ? { activation: activation as 'relu' } : {}) }).apply(x) as ST;

/** The reference `cnn`: Conv3x3(16)+BN+ReLU, MaxPool2, Conv3x3(32)+BN+ReLU, MaxPool2, Flatten, Dense(10). */
export function buildCnn(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [28, 28, 1], name: 'image' });
  let x = relu(bn(conv(input, 'conv1', 16, 3, seed), 'bn1'), 'relu1');
  x = tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }).apply(x) as ST;
  x = relu(bn(conv(x, 'conv2', 32, 3, seed + 2), 'bn2'), 'relu2');
  x = tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }).apply(x) as ST;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as ST;
  const logits = dense(x, 'logits', 10, seed + 4);
  const model = tfl.model({ name: 'cnn', inputs: input, outputs: logits });
  randomizeBatchNorm(model, seed + 100);
  return model;
}

export function buildMlp(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [20], name: 'features' });
  let x = dense(input, 'fc1', 32, seed, 'relu');
  x = tfl.layers.dropout({ name: 'drop', rate: 0.2, seed: seed + 9 }).apply(x) as ST;
  x = dense(x, 'fc2', 16, seed + 2, 'relu');
  const logits = dense(x, 'logits', 5, seed + 4);
  return tfl.model({ name: 'mlp', inputs: input, outputs: logits });
}

/** Forward passes in training mode: ranges start at the first batch and move by EMA. */
export function observe(model: tfl.LayersModel, batches: Float32Array[], shape: number[]): void {
  for (const b of batches) {
    tf.tidy(() => {
      model.apply(tf.tensor(b, [b.length / shape.reduce((a, c) => a * c, 1), ...shape]), { training: true });
    });
  }
}

export interface Prepared {
  model: tfl.LayersModel;
  inputShape: number[];
}

/** prepareQat, BN frozen, ranges observed on `batches` random batches (uniform [lo, hi)). */
export function prepareObserved(float: tfl.LayersModel, opts: { batches?: number; batch?: number; lo?: number; hi?: number; seed?: number; config?: Partial<QatConfig> } = {}): Prepared {
  const { batches = 4, batch = 32, lo = 0, hi = 1, seed = 7 } = opts;
  const inputShape = (float.inputs[0]!.shape as number[]).slice(1);
  const per = inputShape.reduce((a, b) => a * b, 1);
  const prepared = prepareQat(float, opts.config ?? {});
  setQatMode(prepared.model, { batchNormFrozen: true });
  observe(prepared.model, Array.from({ length: batches }, (_, i) => uniform(batch * per, seed + i, lo, hi)), inputShape);
  return { model: prepared.model, inputShape };
}

/** The QAT simulation's output (fake-quant inference). */
export function simulate(model: tfl.LayersModel, x: Float32Array, inputShape: number[]): Float32Array {
  const per = inputShape.reduce((a, b) => a * b, 1);
  return tf.tidy(() => {
    const y = model.predict(tf.tensor(x, [x.length / per, ...inputShape])) as tf.Tensor;
    return Float32Array.from(y.dataSync() as Float32Array);
  });
}

export function argmax(v: Float32Array, width: number): Int32Array {
  const out = new Int32Array(v.length / width);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (v[r * width + k]! > v[r * width + best]!) best = k;
    out[r] = best;
  }
  return out;
}

export interface Agreement {
  /** Fraction of rows with the same argmax. */
  argmax: number;
  /** Max |a - b| in output quantization steps. */
  maxSteps: number;
  /** Fraction of elements that differ at all. */
  differing: number;
}

export function agreement(a: Float32Array, b: Float32Array, width: number, step: number): Agreement {
  const ia = argmax(a, width);
  const ib = argmax(b, width);
  let same = 0;
  for (let i = 0; i < ia.length; i++) if (ia[i] === ib[i]) same++;
  let max = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    if (d > 0) diff++;
  }
  return { argmax: same / ia.length, maxSteps: max / step, differing: diff / a.length };
}

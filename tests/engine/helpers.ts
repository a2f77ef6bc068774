// Shared by the engine tests: seeded data, running the same computation on two backends, comparing.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle carries no gradient functions; tfjs-layers registers them all.
import '@tensorflow/tfjs-layers';

/** mulberry32: small, seeded, good enough to make test data reproducible. */
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

export function randomInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

export function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

export function values(next: () => number, shape: readonly number[]): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = next() * 2 - 1;
  return out;
}

/**
 * Runs `fn` with `name` as the active backend and returns its outputs as plain arrays; the previous
 * backend is active again afterwards, and the outputs and intermediates are freed.
 */
export async function onBackend(name: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const arrays = list.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    tf.dispose(list);
    return arrays;
  } finally {
    await tf.setBackend(previous);
  }
}

/** Largest absolute difference, relative to the largest magnitude in `expected`. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!Number.isFinite(a)) return Infinity;
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Live tensors and backend buffers, to see that a computation gave back everything it took. */
export function liveCounts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

/** Spreads a filter's taps dh rows and dw columns apart with zeros between: a conv dilated by
 * [dh, dw] is a plain conv with the spread filter. */
export function spreadFilter(
  filter: Float32Array,
  shape: readonly [number, number, number, number],
  [dh, dw]: readonly [number, number],
): { values: Float32Array; shape: [number, number, number, number] } {
  const [fh, fw, a, b] = shape;
  const wide: [number, number, number, number] = [(fh - 1) * dh + 1, (fw - 1) * dw + 1, a, b];
  const out = new Float32Array(wide.reduce((x, y) => x * y, 1));
  const inner = a * b;
  for (let p = 0; p < fh; p++)
    for (let q = 0; q < fw; q++)
      for (let k = 0; k < inner; k++) out[(p * dh * wide[1] + q * dw) * inner + k] = filter[(p * fw + q) * inner + k] as number;
  return { values: out, shape: wide };
}

/** The inverse selection: the taps of a spread filter's gradient that belong to the real filter. */
export function unspreadFilter(
  grad: Float32Array,
  shape: readonly [number, number, number, number],
  [dh, dw]: readonly [number, number],
): Float32Array {
  const [fh, fw, a, b] = shape;
  const wideWidth = (fw - 1) * dw + 1;
  const out = new Float32Array(fh * fw * a * b);
  const inner = a * b;
  for (let p = 0; p < fh; p++)
    for (let q = 0; q < fw; q++)
      for (let k = 0; k < inner; k++) out[(p * fw + q) * inner + k] = grad[(p * dh * wideWidth + q * dw) * inner + k] as number;
  return out;
}

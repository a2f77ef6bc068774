// Augmentation transforms on real MNIST digits and sklearn wine rows, on every backend: shapes kept,
// shifts move content by at most k pixels with zero fill (checked against a JS reference, exactly),
// flips are exact mirrors, noise has the requested spread, same seed and step → same output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/core/tf.js';
import type { BatchContext } from '../../src/core/train/batchTransform.js';
import { moveSamples, type SampleMove } from '../../src/data/augment.js';
import { augmentationFor, imageAugmentation, tabularAugmentation } from '../../src/data/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { BACKENDS, useBackend } from '../support/backends.js';
import { loadMnist, loadSklearn } from '../support/datasets.js';

const H = 28;
const W = 28;
const N = 128;
const mnist = loadMnist({ train: N, test: 0, seed: 3 }).train;
// +0.5 makes every pixel non-zero, so the zero fill at the borders is visible to an exact comparison.
const lifted = Float32Array.from(mnist.x, (v) => v + 0.5);
const wine = loadSklearn('wine', { seed: 1 }).train;
const ctx = (step = 0, seed = 0): BatchContext => ({ step, epoch: 0, seed });

/** Sample s of x moved by (dy, dx), optionally mirrored first, zero outside: the definition, in JS. */
function reference(x: Float32Array, s: number, dy: number, dx: number, mirrored: boolean): Float32Array {
  const out = new Float32Array(H * W);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const si = i - dy;
      const sj = j - dx;
      if (si < 0 || si >= H || sj < 0 || sj >= W) continue;
      out[i * W + j] = x[s * H * W + si * W + (mirrored ? W - 1 - sj : sj)]!;
    }
  }
  return out;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/** The (dy, dx, mirrored) that reproduce output sample s exactly, searched over the allowed range. */
function explain(x: Float32Array, out: Float32Array, s: number, k: number, flips: boolean[]): Array<[number, number, boolean]> {
  const got = out.subarray(s * H * W, (s + 1) * H * W);
  const found: Array<[number, number, boolean]> = [];
  for (const m of flips) for (let dy = -k; dy <= k; dy++) for (let dx = -k; dx <= k; dx++) if (same(reference(x, s, dy, dx, m), got)) found.push([dy, dx, m]);
  return found;
}

function run(transform: ReturnType<typeof imageAugmentation>, data: Float32Array, shape: number[], c = ctx()): Float32Array {
  const x = tf.tensor(data, shape);
  const before = tf.memory().numTensors;
  const y = transform!(x, c);
  expect(tf.memory().numTensors).toBe(before + 1); // only the result survives
  expect(y.shape).toEqual(x.shape);
  expect(y.dtype).toBe('float32');
  const values = y.dataSync().slice() as Float32Array;
  tf.dispose([x, y]);
  return values;
}

describe('options', () => {
  it('everything off is no transform at all (the trainer then does no extra work)', () => {
    expect(imageAugmentation({})).toBeUndefined();
    expect(imageAugmentation({ shift: 0, flip: false, noise: 0 })).toBeUndefined();
    expect(tabularAugmentation({ noise: 0 })).toBeUndefined();
    expect(augmentationFor([13], {})).toBeUndefined();
    expect(augmentationFor([28, 28, 1], { shift: 2 })).toBeTypeOf('function');
  });

  it('refuses invalid values and image-only options on tabular samples, naming the field', () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return (e as ValidationError).fields[0]!.field;
      }
      throw new Error('expected a ValidationError');
    };
    expect(field(() => imageAugmentation({ shift: 1.5 }))).toBe('augment.shift');
    expect(field(() => imageAugmentation({ shift: -1 }))).toBe('augment.shift');
    expect(field(() => imageAugmentation({ noise: -0.1 }))).toBe('augment.noise');
    expect(field(() => tabularAugmentation({ noise: Number.NaN }))).toBe('augment.noise');
    expect(field(() => imageAugmentation({ flip: 'vertical' as 'horizontal' }))).toBe('augment.flip');
    expect(field(() => augmentationFor([13], { shift: 2 }))).toBe('augment');
    expect(field(() => augmentationFor([13], { flip: 'horizontal' }))).toBe('augment');
  });
});

describe.each(BACKENDS)('on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('a shift of k moves every digit by at most k pixels and fills with zeros, exactly', () => {
    const k = 3;
    const out = run(imageAugmentation({ shift: k }, 7), lifted, [N, H, W, 1]);
    const offsets = new Set<string>();
    for (let s = 0; s < N; s++) {
      const found = explain(lifted, out, s, k, [false]);
      expect(found.length, `sample ${s}`).toBe(1);
      offsets.add(`${found[0]![0]},${found[0]![1]}`);
    }
    // per-sample offsets, and the extremes of the range do occur
    expect(offsets.size).toBeGreaterThan(20);
    expect([...offsets].some((o) => o.startsWith('-3,') || o.startsWith('3,'))).toBe(true);
    expect([...offsets].some((o) => o.endsWith(',-3') || o.endsWith(',3'))).toBe(true);
  });

  it('a horizontal flip is an exact mirror of about half the samples', () => {
    const out = run(imageAugmentation({ flip: 'horizontal' }, 7), mnist.x, [N, H, W, 1]);
    let mirrored = 0;
    for (let s = 0; s < N; s++) {
      const got = out.subarray(s * H * W, (s + 1) * H * W);
      const isPlain = same(got, mnist.x.subarray(s * H * W, (s + 1) * H * W));
      const isMirror = same(got, reference(mnist.x, s, 0, 0, true));
      expect(isPlain || isMirror, `sample ${s}`).toBe(true);
      if (isMirror && !isPlain) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(N * 0.3);
    expect(mirrored).toBeLessThan(N * 0.7);
  });

  it('shift and flip together: every sample is one mirrored-or-not shift', () => {
    const out = run(imageAugmentation({ shift: 2, flip: 'horizontal' }, 11), lifted, [N, H, W, 1]);
    for (let s = 0; s < N; s++) expect(explain(lifted, out, s, 2, [false, true]).length, `sample ${s}`).toBeGreaterThanOrEqual(1);
  });

  it('noise has the requested standard deviation on real images and tabular rows', () => {
    const stats = (a: Float32Array, b: Float32Array) => {
      let m = 0;
      for (let i = 0; i < a.length; i++) m += a[i]! - b[i]!;
      m /= a.length;
      let v = 0;
      for (let i = 0; i < a.length; i++) v += (a[i]! - b[i]! - m) ** 2;
      return { mean: m, std: Math.sqrt(v / a.length) };
    };
    const img = stats(run(imageAugmentation({ noise: 0.1 }, 5), mnist.x, [N, H, W, 1]), mnist.x);
    // 100,352 draws: the sample std's own error is ~0.2%
    expect(Math.abs(img.mean)).toBeLessThan(0.002);
    expect(Math.abs(img.std / 0.1 - 1)).toBeLessThan(0.02);
    const rows = wine.x.length / 13;
    const tab = stats(run(tabularAugmentation({ noise: 0.5 }, 5), wine.x, [rows, 13]), wine.x);
    // 1,729 draws (odd: the last polar-method pair is half used): ~2.5% error on the std
    expect(Math.abs(tab.mean)).toBeLessThan(0.05);
    expect(Math.abs(tab.std / 0.5 - 1)).toBeLessThan(0.1);
  });

  it('same seed, trainer seed and step give the same output; any of them changed gives another', () => {
    const t = imageAugmentation({ shift: 2, flip: 'horizontal', noise: 0.05 }, 1);
    const a = run(t, mnist.x, [N, H, W, 1], ctx(4, 9));
    expect(same(a, run(imageAugmentation({ shift: 2, flip: 'horizontal', noise: 0.05 }, 1), mnist.x, [N, H, W, 1], ctx(4, 9)))).toBe(true);
    expect(same(a, run(t, mnist.x, [N, H, W, 1], ctx(5, 9)))).toBe(false);
    expect(same(a, run(t, mnist.x, [N, H, W, 1], ctx(4, 10)))).toBe(false);
    expect(same(a, run(imageAugmentation({ shift: 2, flip: 'horizontal', noise: 0.05 }, 2), mnist.x, [N, H, W, 1], ctx(4, 9)))).toBe(false);
  });

  it('moveSamples: the native transform and the portable gather match the definition exactly', () => {
    // every combination of offsets in [-3, 3]² with and without mirroring, beyond the image edge included
    const moves: SampleMove[] = [];
    for (const mirrored of [false, true]) for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) moves.push({ dy, dx, mirrored });
    moves.push({ dy: 30, dx: 0, mirrored: false }, { dy: 0, dx: -28, mirrored: true });
    const x = tf.tensor(lifted.subarray(0, moves.length * H * W), [moves.length, H, W, 1]);
    // (cpu's own Transform kernel only fills the first sample, so 'auto' does not use it there)
    for (const via of backend === 'cpu' ? (['auto', 'gather'] as const) : (['auto', 'transform', 'gather'] as const)) {
      const before = tf.memory().numTensors;
      const y = moveSamples(x, moves, via);
      expect(tf.memory().numTensors).toBe(before + 1);
      const out = y.dataSync() as Float32Array;
      moves.forEach((m, s) => expect(same(out.subarray(s * H * W, (s + 1) * H * W), reference(lifted, s, m.dy, m.dx, m.mirrored)), `${via} ${JSON.stringify(m)}`).toBe(true));
      y.dispose();
    }
    // several channels move together
    const rgb = tf.tidy(() => tf.concat([x, tf.neg(x), tf.mul(x, 2)], 3));
    const moved = tf.tidy(() => tf.split(moveSamples(rgb, moves), 3, 3).map((t) => t.dataSync() as Float32Array));
    const plain = moveSamples(x, moves, 'gather');
    const ref = plain.dataSync() as Float32Array;
    expect(same(moved[0]!, ref)).toBe(true);
    expect(same(moved[2]!, ref.map((v) => v * 2))).toBe(true);
    tf.dispose([x, rgb, plain]);
  });

  it('refuses a batch that is not [N, H, W, C]', () => {
    const x = tf.tensor(wine.x, [wine.x.length / 13, 13]);
    expect(() => imageAugmentation({ shift: 1 })!(x, ctx())).toThrow(/\[N, H, W, C\]/);
    x.dispose();
  });
});

describe('backends agree', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });
  it('cpu and wasm give bit-identical augmented batches (the randomness is drawn in JS)', async () => {
    const t = imageAugmentation({ shift: 3, flip: 'horizontal', noise: 0.1 }, 3);
    const outs: Float32Array[] = [];
    for (const b of BACKENDS) {
      await useBackend(b);
      outs.push(run(t, mnist.x, [N, H, W, 1], ctx(2, 1)));
    }
    expect(same(outs[0]!, outs[1]!)).toBe(true);
  });
});

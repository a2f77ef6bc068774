// Seeded, deterministic splits and shards. Classification splits are stratified: each class contributes
// in proportion to its size (largest-remainder rounding, so totals are exact). Same seed, same indices.
import type { Dataset } from '../core/train/dataset.js';
import { Rng, shuffleInPlace } from '../core/train/rng.js';
import type { Task } from '../core/train/task.js';
import { DatasetError } from './errors.js';

/**
 * Indices of a stratified split into `train` and `test` samples, drawn from a seeded shuffle of each
 * class's members; both lists are shuffled again so classes are interleaved. (The same algorithm, with the
 * same results, as tests/support/datasets.ts's stratifiedSplit.)
 */
export function stratifiedSplit(labels: Int32Array, train: number, test: number, seed: number): { train: Int32Array; test: Int32Array } {
  const n = labels.length;
  if (train + test > n) throw new DatasetError('split', `cannot split ${n} samples into ${train} + ${test}`);
  const rng = new Rng(seed);
  const members = classMembers(labels);
  for (const m of members) shuffleInPlace(m, rng);
  const taken = apportion(members.map((m) => m.length), train + test);
  const testCounts = apportion(taken, test);
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  members.forEach((m, k) => {
    testIdx.push(...m.slice(0, testCounts[k]));
    trainIdx.push(...m.slice(testCounts[k], taken[k]));
  });
  shuffleInPlace(trainIdx, rng);
  shuffleInPlace(testIdx, rng);
  return { train: Int32Array.from(trainIdx), test: Int32Array.from(testIdx) };
}

/** A seeded random split (regression): the first `test` indices of a permutation are the test set. */
export function randomSplit(n: number, test: number, seed: number): { train: Int32Array; test: Int32Array } {
  if (test > n) throw new DatasetError('split', `cannot take ${test} test samples from ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, new Rng(seed));
  return { test: Int32Array.from(order.slice(0, test)), train: Int32Array.from(order.slice(test)) };
}

/** The rows `idx` of a dataset, in that order. */
export function takeRows(d: Dataset, idx: Int32Array): Dataset {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const n = d.x.length / size;
  const perY = d.y.length / n;
  const x = new Float32Array(idx.length * size);
  const y = d.y instanceof Int32Array ? new Int32Array(idx.length * perY) : new Float32Array(idx.length * perY);
  idx.forEach((i, j) => {
    x.set(d.x.subarray(i * size, (i + 1) * size), j * size);
    y.set(d.y.subarray(i * perY, (i + 1) * perY), j * perY);
  });
  return { x, sampleShape: [...d.sampleShape], y };
}

/**
 * Split a dataset into train and test (default 20% test): stratified for classification, random for
 * regression, seeded. Each side keeps at least one sample.
 */
export function splitDataset(d: Dataset, task: Task, opts: { testFraction?: number; seed?: number } = {}): { train: Dataset; test: Dataset } {
  const fraction = opts.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError('testFraction', `must be in (0, 1), got ${fraction}`);
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const n = d.x.length / size;
  if (n < 2) throw new DatasetError('split', `${n} sample${n === 1 ? '' : 's'} cannot be split into train and test`);
  const test = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const seed = opts.seed ?? 0;
  const idx = task === 'classification' && d.y instanceof Int32Array ? stratifiedSplit(d.y, n - test, test, seed) : randomSplit(n, test, seed);
  return { train: takeRows(d, idx.train), test: takeRows(d, idx.test) };
}

/**
 * A deterministic partition of n samples into `shards` disjoint index lists covering all of them
 * (sizes differ by at most one per class); stratified when labels are given.
 */
export function shardIndices(n: number, shards: number, seed: number, labels?: Int32Array): Int32Array[] {
  if (!Number.isInteger(shards) || shards < 1) throw new DatasetError('shards', `must be a positive integer, got ${shards}`);
  if (shards > n) throw new DatasetError('shards', `${shards} shards cannot each get a sample of ${n}`);
  const rng = new Rng(seed);
  const groups = labels ? classMembers(labels) : [Array.from({ length: n }, (_, i) => i)];
  const out: number[][] = Array.from({ length: shards }, () => []);
  let next = 0; // deal round-robin across classes so shard sizes stay balanced overall
  for (const g of groups) {
    shuffleInPlace(g, rng);
    for (const i of g) out[next++ % shards]!.push(i);
  }
  return out.map((s) => {
    shuffleInPlace(s, rng);
    return Int32Array.from(s);
  });
}

function classMembers(labels: Int32Array): number[][] {
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  });
  return [...byClass.keys()].sort((a, b) => a - b).map((c) => byClass.get(c)!);
}

/** Split `total` into integer parts proportional to `weights`, each <= its weight (largest remainder). */
function apportion(weights: number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (total === 0 || sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (w * total) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    if (parts[i]! < weights[i]!) {
      parts[i]!++;
      left--;
    }
  }
  return parts;
}

/**
 * splitDataset's split (the same seeded, stratified indices, the same row order) made by permuting the
 * rows in place — test rows first, then train — and returning the two halves as views of the one buffer,
 * so splitting a 60,000-image set costs no second copy of it.
 */
export function splitInPlace(d: Dataset, task: Task, o: { testFraction: number; seed: number }): { train: Dataset; test: Dataset } {
  const size = d.sampleShape.reduce((a, b) => a * b, 1);
  const n = d.x.length / size;
  if (!(o.testFraction > 0 && o.testFraction < 1)) throw new DatasetError('testFraction', `must be in (0, 1), got ${o.testFraction}`);
  if (n < 2) throw new DatasetError('split', `${n} sample${n === 1 ? '' : 's'} cannot be split into train and test`);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * o.testFraction)));
  const idx = task === 'classification' && d.y instanceof Int32Array ? stratifiedSplit(d.y, n - nTest, nTest, o.seed) : randomSplit(n, nTest, o.seed);
  const order = new Int32Array(n);
  order.set(idx.test);
  order.set(idx.train, nTest);
  const perY = d.y.length / n;
  permuteRows(d.x, size, order);
  permuteRows(d.y, perY, order);
  const view = (from: number, to: number): Dataset => ({ x: d.x.subarray(from * size, to * size), sampleShape: [...d.sampleShape], y: d.y.subarray(from * perY, to * perY) });
  return { test: view(0, nTest), train: view(nTest, n) };
}

/** Row k becomes old row order[k], following the permutation's cycles with one row of scratch space. */
function permuteRows(a: Float32Array | Int32Array, width: number, order: Int32Array): void {
  const done = new Uint8Array(order.length);
  const tmp = a.slice(0, width);
  for (let start = 0; start < order.length; start++) {
    if (done[start] || order[start] === start) continue;
    tmp.set(a.subarray(start * width, (start + 1) * width));
    let j = start;
    for (;;) {
      done[j] = 1;
      const from = order[j]!;
      if (from === start) {
        a.set(tmp, j * width);
        break;
      }
      a.copyWithin(j * width, from * width, (from + 1) * width);
      j = from;
    }
  }
}

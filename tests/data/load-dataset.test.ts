// loadDataset (what `qat run --data` does) end to end on files written to a temp dir from real data:
// plain files, an IDX folder, archives of either, builtins, and the errors a user sees.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DataOptions, loadDataset } from '../../src/cli/run/loadDataset.js';
import type { Dataset } from '../../src/core/train/dataset.js';
import { encodeIdx, encodeNpy, encodeZip, parseCsv, splitDataset, splitInPlace } from '../../src/data/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { mnistBytes, readSklearn, SKLEARN_DIR } from '../support/datasets.js';

let dir: string;
const at = (f: string) => path.join(dir, f);
const opts = (data: string, more: Partial<DataOptions> = {}): DataOptions => ({ data, testFraction: 0.2, seed: 0, ...more });

async function tgz(entries: { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name }, Buffer.from(e.data));
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) parts.push(c);
  return gzipSync(Buffer.concat(parts));
}

// 500 real digits: 400 train, 100 test (every 20th of the 10,000, so all classes appear).
const { images, labels } = mnistBytes();
function idxFiles(from: number, to: number) {
  const n = to - from;
  const img = new Uint8Array(n * 784);
  const lab = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const s = (from + j) * 20;
    img.set(images.subarray(s * 784, (s + 1) * 784), j * 784);
    lab[j] = labels[s]!;
  }
  return { images: encodeIdx({ dtype: 'uint8', shape: [n, 28, 28], data: img }), labels: encodeIdx({ dtype: 'uint8', shape: [n], data: lab }), img, lab };
}
const tr = idxFiles(0, 400);
const te = idxFiles(400, 500);
const IDX = [
  ['train-images-idx3-ubyte', tr.images],
  ['train-labels-idx1-ubyte', tr.labels],
  ['t10k-images-idx3-ubyte', te.images],
  ['t10k-labels-idx1-ubyte', te.labels],
] as const;
const irisCsv = new Uint8Array(readFileSync(path.join(SKLEARN_DIR, 'iris.csv')));
const iris = readSklearn('iris');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'qat-load-'));
  await mkdir(at('mnist'));
  for (const [name, bytes] of IDX) await writeFile(at(`mnist/${name}`), bytes);
  await writeFile(at('mnist.tgz'), await tgz(IDX.map(([name, bytes]) => ({ name: `mnist/${name}.gz`, data: gzipSync(bytes) }))));
  await writeFile(at('mnist.zip'), encodeZip(IDX.map(([name, data]) => ({ name: `data/mnist/${name}`, data }))));
  await writeFile(at('iris.csv'), irisCsv);
  await writeFile(at('iris.tgz'), await tgz([{ name: 'iris/iris.csv', data: irisCsv }]));
  const jsonl = iris.x.map((x, i) => JSON.stringify({ x, y: iris.y[i] })).join('\n');
  await writeFile(at('iris-jsonl.zip'), encodeZip([{ name: 'iris.jsonl', data: new TextEncoder().encode(jsonl) }]));
  const npz = encodeZip([
    { name: 'x.npy', data: encodeNpy({ dtype: 'uint8', shape: [500, 28, 28, 1], data: new Uint8Array([...tr.img, ...te.img]) }), compress: false },
    { name: 'y.npy', data: encodeNpy({ dtype: 'int32', shape: [500], data: Int32Array.from([...tr.lab, ...te.lab]) }), compress: false },
  ]);
  await writeFile(at('digits.npz'), npz);
  await writeFile(at('two.zip'), encodeZip([{ name: 'a.csv', data: irisCsv }, { name: 'b.csv', data: irisCsv }]));
  await writeFile(at('evil.tgz'), await tgz([{ name: '../iris.csv', data: irisCsv }]));
  await writeFile(at('iris.parquet'), irisCsv);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadDataset', () => {
  it('the in-place split gives splitDataset\'s train and test exactly (classification and regression)', () => {
    const cases: [Dataset, 'classification' | 'regression'][] = [
      [{ x: Float32Array.from(iris.x.flat()), sampleShape: [4], y: Int32Array.from(iris.y) }, 'classification'],
      [(() => {
        const d = readSklearn('diabetes');
        return { x: Float32Array.from(d.x.flat()), sampleShape: [10], y: Float32Array.from(d.y) };
      })(), 'regression'],
    ];
    for (const [d, task] of cases) {
      for (const seed of [0, 3]) {
        const want = splitDataset(d, task, { testFraction: 0.3, seed });
        const copy = { ...d, x: d.x.slice(), y: d.y.slice() };
        const got = splitInPlace(copy, task, { testFraction: 0.3, seed });
        expect(got.train.x).toEqual(want.train.x);
        expect(got.train.y).toEqual(want.train.y);
        expect(got.test.x).toEqual(want.test.x);
        expect(got.test.y).toEqual(want.test.y);
        expect(got.train.x.buffer).toBe(copy.x.buffer); // views, not copies
      }
    }
  });

  it('an IDX folder, the same set in a .tgz (top folder, .gz files) and in a .zip give the same data', async () => {
    const folder = await loadDataset(opts(at('mnist')));
    expect([folder.format, folder.testSource, folder.scale, folder.classes]).toEqual(['idx', 'given', 'uint8 / 255', 10]);
    expect(folder.train.sampleShape).toEqual([28, 28, 1]);
    expect(Array.from(folder.test.y)).toEqual(Array.from(te.lab));
    expect(Array.from(folder.train.x.subarray(0, 784 * 3), (v) => Math.round(v * 255))).toEqual(Array.from(tr.img.subarray(0, 784 * 3)));
    for (const [file, format] of [
      ['mnist.tgz', 'idx in tar.gz'],
      ['mnist.zip', 'idx in zip'],
    ]) {
      const a = await loadDataset(opts(at(file!)));
      expect(a.format).toBe(format);
      expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(folder.train.x.buffer))).toBe(true);
      expect(Array.from(a.test.y)).toEqual(Array.from(folder.test.y));
    }
  });

  it('a CSV, and the same CSV in a .tgz: split 120/30 in place, the rows and order of splitDataset, raw values', async () => {
    const plain = await loadDataset(opts(at('iris.csv'), { skipRows: 1 }));
    expect([plain.format, plain.testSource, plain.classes, plain.train.y.length, plain.test.y.length]).toEqual(['csv', 'split', 3, 120, 30]);
    // Raw values: standardisation is the pipeline's, after its validation split.
    const row = Array.from(plain.train.x.subarray(0, 4), (v) => Math.round(v * 10) / 10);
    expect(iris.x.map((r) => r.join())).toContain(row.join());
    const ref = splitDataset((await parseCsv(irisCsv, { skipRows: 1 })).dataset, 'classification', { testFraction: 0.2, seed: 0 });
    expect(plain.train.x).toEqual(ref.train.x);
    expect(plain.test.x).toEqual(ref.test.x);
    expect(plain.test.y).toEqual(ref.test.y);
    const inside = await loadDataset(opts(at('iris.tgz'), { skipRows: 1 }));
    expect(inside.format).toBe('csv in tar.gz');
    expect(inside.train.x).toEqual(plain.train.x);
  });

  it('a separate --test-data is coded with the training schema', async () => {
    const d = await loadDataset(opts(at('iris.csv'), { skipRows: 1, testData: at('iris.tgz') }));
    expect([d.testSource, d.train.y.length, d.test.y.length]).toEqual(['given', 150, 150]);
    expect(d.test.x).toEqual(d.train.x);
  });

  it('a JSON Lines --test-data is coded by the training classes, even when it lacks one of them', async () => {
    const names = ['setosa', 'versicolor', 'virginica'];
    const rows = (from: number, keep: (y: number) => boolean) =>
      iris.x.map((x, i) => ({ x, y: iris.y[i]! })).filter((r, i) => i >= from && keep(r.y)).map((r) => JSON.stringify({ x: r.x, y: names[r.y] })).join('\n');
    await writeFile(at('iris-train.jsonl'), rows(0, () => true));
    // No setosa: sorted alone its labels would be versicolor = 0, virginica = 1.
    await writeFile(at('iris-test.jsonl'), rows(100, (y) => y > 0));
    const d = await loadDataset(opts(at('iris-train.jsonl'), { testData: at('iris-test.jsonl') }));
    expect(d.classNames).toEqual(names);
    expect(Array.from(d.test.y)).toEqual(iris.y.slice(100).filter((y) => y > 0));
    // A CSV training file with its own reading options, and a JSON Lines test file: the options are the CSV's.
    const csvNames = await loadDataset(opts(at('iris.csv'), { skipRows: 1, testData: at('iris-jsonl.zip') }));
    expect([csvNames.testSource, csvNames.train.y.length, csvNames.test.y.length]).toEqual(['given', 150, 150]);
    await writeFile(at('iris-unknown.jsonl'), `${JSON.stringify({ x: iris.x[0], y: 'iris-x' })}\n`);
    const e = await loadDataset(opts(at('iris-train.jsonl'), { testData: at('iris-unknown.jsonl') })).catch((err: unknown) => err);
    expect((e as Error).message).toMatch(/iris-unknown\.jsonl: line 1\.y.*label "iris-x" is not one of the 3 training classes/);
  });

  it('JSON Lines inside a .zip, and an NPZ of uint8 images', async () => {
    const j = await loadDataset(opts(at('iris-jsonl.zip')));
    expect([j.format, j.train.y.length + j.test.y.length, j.train.sampleShape]).toEqual(['jsonl in zip', 150, [4]]);
    const n = await loadDataset(opts(at('digits.npz')));
    expect([n.format, n.scale, n.train.sampleShape, n.train.y.length, n.test.y.length]).toEqual(['npz', 'uint8 / 255', [28, 28, 1], 400, 100]);
    expect(n.train.x.reduce((a, b) => Math.max(a, b), 0)).toBe(1);
  });

  it('builtins: mnist (fixed split), iris (class names), digits (8×8 image), with provenance', async () => {
    const m = await loadDataset(opts('builtin:mnist', { seed: 5, testFraction: 0.5 }));
    expect([m.format, m.train.y.length, m.test.y.length, m.scale, m.classes]).toEqual(['builtin:mnist', 8000, 2000, 'uint8 / 255 (as IDX)', 10]);
    expect(m.builtin?.split).toEqual({ train: 8000, test: 2000, seed: 0 });
    expect(m.builtin?.licence).toMatch(/CC BY-SA 3\.0/);
    const i = await loadDataset(opts('builtin:iris'));
    expect([i.train.y.length, i.test.y.length, i.classNames]).toEqual([120, 30, ['setosa', 'versicolor', 'virginica']]);
    expect(i.builtin?.citation).toMatch(/Fisher/);
    const d = await loadDataset(opts('builtin:digits'));
    expect([d.train.sampleShape, d.scale]).toEqual([[8, 8, 1], 'pixel / 16 (values 0..16 to [0, 1]), image [8, 8, 1]']);
  });

  it('errors name the input: unknown builtin, options a builtin fixes, two datasets in one archive, traversal, unknown format, a missing path', async () => {
    const fail = async (o: DataOptions, field: string, reason: RegExp) => {
      const e = await loadDataset(o).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).fields[0]!.field).toBe(field);
      expect((e as ValidationError).message).toMatch(reason);
    };
    await fail(opts('builtin:mnist10'), 'data', /unknown builtin dataset "mnist10": the builtins are builtin:mnist, builtin:iris/);
    await fail(opts('builtin:iris', { labelColumn: '0' }), 'labelColumn', /does not apply to builtin:iris/);
    await fail(opts('builtin:iris', { task: 'regression' }), 'task', /is a classification dataset/);
    await fail(opts(at('two.zip')), 'two.zip', /holds 2 dataset files \(a\.csv, b\.csv\)/);
    await fail(opts(at('evil.tgz')), 'evil.tgz:../iris.csv', /has a '\.\.' segment/);
    await fail(opts(at('iris.parquet')), 'data', /unknown format '\.parquet'/);
    await fail(opts(at('nope.csv')), 'data', /does not exist/);
    await fail(opts(at('mnist'), { testData: at('iris.csv') }), 'testData', /brings its own test files/);
  });

  it('refuses the CSV/TSV reading options for other formats instead of ignoring them', async () => {
    for (const [file, o, field, format] of [
      ['mnist', { labelColumn: '0' }, 'labelColumn', 'IDX'],
      ['digits.npz', { skipRows: 1 }, 'skipRows', 'npz'],
      ['iris-jsonl.zip', { labelColumn: 'species' }, 'labelColumn', 'jsonl'],
    ] as const) {
      const e = await loadDataset(opts(at(file), o)).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).fields).toEqual([{ field, reason: `does not apply to ${format} data (CSV/TSV only)` }]);
    }
  });
});

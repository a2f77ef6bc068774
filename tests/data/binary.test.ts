import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DatasetError, encodeIdx, encodeNpy, parseIdx, parseIdxPair, parseIdxSet, parseNpy, parseNpz, parseNpzDataset, readZip } from '../../src/data/index.js';
import { mnistBytes, readSklearn } from '../support/datasets.js';

const fixture = (f: string) => new Uint8Array(readFileSync(new URL(`../fixtures/data/${f}`, import.meta.url)));

function failure(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

// 50 real MNIST digits as IDX files
const { images, labels } = mnistBytes();
const N = 50;
const pick = Int32Array.from({ length: N }, (_, i) => i * 199); // spans all ten digits
const img = new Uint8Array(N * 784);
pick.forEach((s, j) => img.set(images.subarray(s * 784, (s + 1) * 784), j * 784));
const lab = Uint8Array.from(pick, (s) => labels[s]!);
const imagesIdx = encodeIdx({ dtype: 'uint8', shape: [N, 28, 28], data: img });
const labelsIdx = encodeIdx({ dtype: 'uint8', shape: [N], data: lab });

describe('IDX', () => {
  it('round trip of real MNIST digits, raw and gzip: x = byte/255 with a channel axis, y = labels', () => {
    for (const [i, l] of [
      [imagesIdx, labelsIdx],
      [gzipSync(imagesIdx), gzipSync(labelsIdx)],
    ]) {
      const r = parseIdxPair(i!, l!);
      expect(r.task).toBe('classification');
      expect(r.dataset.sampleShape).toEqual([28, 28, 1]);
      expect(Array.from(r.dataset.y)).toEqual(Array.from(lab));
      expect(r.dataset.x[300]).toBe(Math.fround(img[300]! / 255));
      expect(Array.from(r.dataset.x, (v) => Math.round(v * 255))).toEqual(Array.from(img));
    }
    expect(parseIdx(imagesIdx).shape).toEqual([N, 28, 28]);
  });

  it('other IDX types (big-endian int32/float64)', () => {
    const a = parseIdx(encodeIdx({ dtype: 'int32', shape: [2, 2], data: Int32Array.from([1, -2, 300000, 4]) }));
    expect([a.dtype, Array.from(a.data)]).toEqual(['int32', [1, -2, 300000, 4]]);
    const f = parseIdx(encodeIdx({ dtype: 'float64', shape: [3], data: Float64Array.from([0.1, -2.5, 1e300]) }));
    expect(Array.from(f.data)).toEqual([0.1, -2.5, 1e300]);
  });

  it('the four standard files by name, in a sub-folder, gzipped or not', () => {
    const files = new Map([
      ['mnist/train-images-idx3-ubyte.gz', gzipSync(imagesIdx)],
      ['mnist/train-labels-idx1-ubyte', labelsIdx],
      ['mnist/t10k-images.idx3-ubyte', imagesIdx],
      ['mnist/t10k-labels-idx1-ubyte.gz', gzipSync(labelsIdx)],
    ]);
    const { train, test } = parseIdxSet(files);
    expect(train.dataset).toEqual(test.dataset);
    files.delete('mnist/t10k-labels-idx1-ubyte.gz');
    expect(failure(() => parseIdxSet(files)).fields[0]!.field).toBe('t10k-labels-idx1-ubyte');
  });

  it('wrong magic, truncated files, trailing bytes, empty files, mismatched counts', () => {
    const wrong = imagesIdx.slice();
    wrong[2] = 0x07;
    expect(failure(() => parseIdx(wrong, { name: 'train-images' })).fields[0]).toEqual({
      field: 'train-images',
      reason: 'wrong IDX magic 00 00 07 03 (expected 00 00, a type code 08/09/0b/0c/0d/0e and 1+ dimensions)',
    });
    expect(failure(() => parseIdx(readFileSync(new URL('../fixtures/sklearn/iris.csv', import.meta.url)))).fields[0]!.reason).toMatch(/wrong IDX magic/);
    expect(failure(() => parseIdx(imagesIdx.subarray(0, imagesIdx.length - 1))).fields[0]!.reason).toBe(
      `is truncated: shape [${N}, 28, 28] needs ${imagesIdx.length} bytes, the file has ${imagesIdx.length - 1}`,
    );
    expect(failure(() => parseIdx(imagesIdx.subarray(0, 10))).fields[0]!.reason).toMatch(/shorter than its 16-byte header/);
    expect(failure(() => parseIdx(gzipSync(imagesIdx.subarray(0, 5000)))).fields[0]!.reason).toMatch(/is truncated/);
    expect(failure(() => parseIdx(gzipSync(imagesIdx).subarray(0, 100))).fields[0]!.reason).toMatch(/not valid gzip/);
    expect(failure(() => parseIdx(new Uint8Array([...labelsIdx, 1]))).fields[0]!.reason).toMatch(/1 bytes after the data/);
    expect(failure(() => parseIdx(new Uint8Array(0))).fields[0]!.reason).toBe('is empty');
    expect(failure(() => parseIdx(gzipSync(imagesIdx), { limits: { maxBytes: 1000 } })).fields[0]!.reason).toMatch(/more than the limit of 1000 bytes/);
    const fewer = encodeIdx({ dtype: 'uint8', shape: [N - 1], data: lab.subarray(1) });
    expect(failure(() => parseIdxPair(imagesIdx, fewer)).fields[0]!.reason).toBe(`has shape [${N - 1}] but images has ${N} samples: x and y lengths differ`);
    expect(failure(() => parseIdxPair(imagesIdx, labelsIdx, { limits: { maxClasses: 5 } })).fields[0]!.reason).toMatch(/limit of 5 classes/);
    expect(failure(() => parseIdxPair(imagesIdx, labelsIdx, { limits: { maxFeatures: 100 } })).fields[0]!.reason).toMatch(/784 features per sample, more than the limit of 100/);
  });
});

describe('NPY / NPZ (fixtures written by numpy: scripts/fixtures/npy_fixtures.py)', () => {
  const iris = readSklearn('iris');

  it('float64, float32, big-endian float64, int64, uint8, int32', () => {
    const f8 = parseNpy(fixture('iris_x_f8.npy'));
    expect([f8.dtype, f8.shape]).toEqual(['float64', [150, 4]]);
    expect(Array.from(f8.data)).toEqual(iris.x.flat());
    expect(Array.from(parseNpy(fixture('iris_x_f4.npy')).data)).toEqual(Array.from(Float32Array.from(iris.x.flat())));
    expect(Array.from(parseNpy(fixture('iris_x_f8_big_endian.npy')).data)).toEqual(iris.x.flat());
    const y = parseNpy(fixture('iris_y_i8.npy'));
    expect([y.dtype, y.shape, Array.from(y.data)]).toEqual(['int64', [150], iris.y]);
    const u1 = parseNpy(fixture('digits_x_u1.npy'));
    expect([u1.dtype, u1.shape]).toEqual(['uint8', [40, 8, 8]]);
    expect(parseNpy(fixture('digits_y_i4.npy')).dtype).toBe('int32');
  });

  it('encodeNpy round trip', () => {
    for (const a of [
      { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      { dtype: 'int64' as const, shape: [3], data: Float64Array.from([1, -2, 2 ** 40]) },
      { dtype: 'uint8' as const, shape: [1, 2, 2], data: Uint8Array.from([0, 1, 254, 255]) },
    ]) {
      expect(parseNpy(encodeNpy(a))).toEqual({ ...a, data: a.dtype === 'int64' ? a.data : a.data });
    }
    expect(encodeNpy({ dtype: 'float64', shape: [150, 4], data: parseNpy(fixture('iris_x_f8.npy')).data })).toEqual(fixture('iris_x_f8.npy'));
  });

  it('npz stored and compressed: x/y datasets (uint8 x scaled by 1/255)', () => {
    const r = parseNpzDataset(fixture('iris.npz'));
    expect(r.task).toBe('classification');
    expect(r.classNames).toEqual(['0', '1', '2']);
    expect(Array.from(r.dataset.y)).toEqual(iris.y);
    expect(r.dataset.sampleShape).toEqual([4]);
    const d = parseNpzDataset(fixture('digits_compressed.npz'));
    expect(d.dataset.sampleShape).toEqual([8, 8]);
    expect(Array.from(d.dataset.x, (v) => Math.round(v * 255))).toEqual(Array.from(parseNpy(fixture('digits_x_u1.npy')).data));
    expect(Array.from(d.dataset.y)).toEqual(Array.from(parseNpy(fixture('digits_y_i4.npy')).data));
    expect([...parseNpz(fixture('iris.npz')).keys()]).toEqual(['x', 'y']);
    expect(parseNpzDataset(fixture('iris.npz'), { task: 'regression' }).dataset.y).toBeInstanceOf(Float32Array);
  });

  it('npy errors: magic, truncation, dtype, Fortran order, empty', () => {
    const good = fixture('iris_x_f4.npy');
    expect(failure(() => parseNpy(good.subarray(0, good.length - 4), { name: 'x.npy' })).fields[0]).toEqual({
      field: 'x.npy',
      reason: `is truncated: shape [150, 4] of float32 needs ${good.length} bytes, the file has ${good.length - 4}`,
    });
    expect(failure(() => parseNpy(fixture('iris.npz'))).fields[0]!.reason).toMatch(/no \\x93NUMPY magic/);
    expect(failure(() => parseNpy(new Uint8Array(0))).fields[0]!.reason).toBe('is empty');
    const text = (b: Uint8Array) => new TextDecoder('latin1').decode(b);
    const edit = (from: string, to: string) => Uint8Array.from(text(good).replace(from, to), (c) => c.charCodeAt(0));
    expect(failure(() => parseNpy(edit("'fortran_order': False", "'fortran_order': True "))).fields[0]!.reason).toMatch(/Fortran order/);
    expect(failure(() => parseNpy(edit("'<f4'", "'<c8'"))).fields[0]!.reason).toMatch(/dtype <c8/);
    expect(failure(() => parseNpy(good, { limits: { maxBytes: 100 } })).fields[0]!.reason).toMatch(/more than the limit of 100/);
  });

  it('npz errors: missing arrays, mismatched lengths, NaN features, corrupt and truncated archives, entry limits', () => {
    const zip = fixture('iris.npz');
    // rename y.npy to z.npy in both headers (same length, so offsets hold)
    const renamed = Uint8Array.from(new TextDecoder('latin1').decode(zip).replaceAll('y.npy', 'z.npy'), (c) => c.charCodeAt(0));
    expect(failure(() => parseNpzDataset(renamed, { name: 'data.npz' })).fields[0]).toEqual({ field: 'data.npz:y', reason: 'is missing (the archive holds x, z)' });
    expect(failure(() => parseNpzDataset(zip.subarray(0, zip.length - 30))).fields[0]!.reason).toMatch(/not a valid ZIP archive/);
    const corrupt = zip.slice();
    corrupt[200] = corrupt[200]! ^ 0xff;
    expect(failure(() => parseNpz(corrupt)).fields[0]!.reason).toMatch(/CRC-32/);
    expect(failure(() => parseNpz(zip, { maxEntries: 1 })).fields[0]!.reason).toBe('has 2 entries, more than the limit of 1');
    expect(readZip(zip).entries.map((e) => e.name)).toEqual(['x.npy', 'y.npy']);
  });
});

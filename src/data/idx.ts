// IDX, the MNIST distribution format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code,
// the number of dimensions, the dimensions as big-endian uint32, then the values big-endian in C order.
// Raw or gzip-compressed bytes (decompressed here with node:zlib, with a size limit); no file access.
import { gunzipSync } from 'node:zlib';
import { DatasetError, resolveLimits, type DataLimits } from './errors.js';
import { arraysToDataset, elementCount, type DType, type NdArray } from './ndarray.js';
import type { ParsedDataset } from './types.js';

const TYPES: Record<number, { dtype: DType; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** Whether the bytes start with the gzip magic (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzipBounded(bytes: Uint8Array, maxBytes: number, field: string): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || /larger than|maxOutputLength/i.test(String(e))) {
      throw new DatasetError(field, `decompresses to more than the limit of ${maxBytes} bytes`);
    }
    throw new DatasetError(field, `is not valid gzip data (${(e as Error).message})`);
  }
}

/** One IDX file (raw or gzip) as an array. */
export function parseIdx(input: Uint8Array, opts: { name?: string; limits?: DataLimits } = {}): NdArray {
  const field = opts.name ?? 'idx';
  const limits = resolveLimits(opts.limits);
  if (input.length === 0) throw new DatasetError(field, 'is empty');
  const bytes = isGzip(input) ? gunzipBounded(input, limits.maxBytes, field) : input;
  if (bytes.length < 4) throw new DatasetError(field, `is truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic`);
  const type = TYPES[bytes[2]!];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || bytes[3] === 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DatasetError(field, `wrong IDX magic ${magic} (expected 00 00, a type code 08/09/0b/0c/0d/0e and 1+ dimensions)`);
  }
  const ndim = bytes[3]!;
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) throw new DatasetError(field, `is truncated: ${bytes.length} bytes, shorter than its ${headerSize}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let k = 0; k < ndim; k++) shape.push(view.getUint32(4 + 4 * k, false));
  const count = elementCount(shape);
  const expected = headerSize + count * type.size;
  if (count * type.size > limits.maxBytes) throw new DatasetError(field, `declares ${count * type.size} bytes of data, more than the limit of ${limits.maxBytes}`);
  if (bytes.length < expected) {
    throw new DatasetError(field, `is truncated: shape [${shape.join(', ')}] needs ${expected} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new DatasetError(field, `has ${bytes.length - expected} bytes after the data of shape [${shape.join(', ')}]`);
  }
  let data: NdArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = new Uint8Array(bytes.subarray(headerSize, expected));
      break;
    case 'int8':
      data = new Int8Array(new Uint8Array(bytes.subarray(headerSize, expected)).buffer);
      break;
    default: {
      const out = type.dtype === 'int16' ? new Int16Array(count) : type.dtype === 'int32' ? new Int32Array(count) : type.dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const at = headerSize + i * type.size;
        out[i] =
          type.dtype === 'int16' ? view.getInt16(at, false) : type.dtype === 'int32' ? view.getInt32(at, false) : type.dtype === 'float32' ? view.getFloat32(at, false) : view.getFloat64(at, false);
      }
      data = out;
    }
  }
  return { dtype: type.dtype, shape, data };
}

/** Encodes an array as IDX bytes (uint8, int32, float32 or float64), e.g. for writing fixtures. */
export function encodeIdx(array: NdArray): Uint8Array {
  const code = Number(Object.entries(TYPES).find(([, t]) => t.dtype === array.dtype)?.[0]);
  if (!Number.isFinite(code)) throw new Error(`IDX cannot hold ${array.dtype}`);
  const size = TYPES[code]!.size;
  const header = 4 + 4 * array.shape.length;
  const out = new Uint8Array(header + array.data.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = array.shape.length;
  array.shape.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  for (let i = 0; i < array.data.length; i++) {
    const at = header + i * size;
    const v = array.data[i]!;
    if (array.dtype === 'uint8') out[at] = v;
    else if (array.dtype === 'int8') view.setInt8(at, v);
    else if (array.dtype === 'int16') view.setInt16(at, v, false);
    else if (array.dtype === 'int32') view.setInt32(at, v, false);
    else if (array.dtype === 'float32') view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return out;
}

/**
 * An images file and a labels file (MNIST layout): images [N, H, W] (or [N, H, W, C]) uint8 scaled
 * to [0, 1] with a channel axis added, labels [N] class indices.
 */
export function parseIdxPair(images: Uint8Array, labels: Uint8Array, opts: { imagesName?: string; labelsName?: string; limits?: DataLimits } = {}): ParsedDataset {
  const xName = opts.imagesName ?? 'images';
  const yName = opts.labelsName ?? 'labels';
  const x = parseIdx(images, { name: xName, limits: opts.limits });
  const y = parseIdx(labels, { name: yName, limits: opts.limits });
  if (x.shape.length === 3) x.shape = [...x.shape, 1];
  if (y.shape.length !== 1) throw new DatasetError(yName, `has shape [${y.shape.join(', ')}]: an IDX labels file has one dimension`);
  return arraysToDataset(x, y, { task: 'classification', xName, yName, limits: opts.limits });
}

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/**
 * The four standard MNIST files, given by name (a folder's or archive's entries; with or without `.gz`,
 * in any sub-folder; some mirrors write `t10k-images.idx3-ubyte`): the train and test sets.
 */
export function parseIdxSet(files: Map<string, Uint8Array>, opts: { limits?: DataLimits } = {}): { train: ParsedDataset; test: ParsedDataset } {
  const find = (base: string): [string, Uint8Array] => {
    const want = [base, base.replace(/-(idx\d)/, '.$1')];
    for (const [name, bytes] of files) {
      const leaf = name.split('/').pop()!.replace(/\.gz$/, '');
      if (want.includes(leaf)) return [name, bytes];
    }
    throw new DatasetError(base, `is missing: an IDX dataset needs ${Object.values(IDX_FILES).join(', ')} (raw or .gz); found ${[...files.keys()].join(', ') || 'no files'}`);
  };
  const pair = (i: string, l: string) => {
    const [imagesName, images] = find(i);
    const [labelsName, labels] = find(l);
    return parseIdxPair(images, labels, { imagesName, labelsName, limits: opts.limits });
  };
  return { train: pair(IDX_FILES.trainImages, IDX_FILES.trainLabels), test: pair(IDX_FILES.testImages, IDX_FILES.testLabels) };
}

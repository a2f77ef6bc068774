// NumPy .npy (format versions 1–3): magic "\x93NUMPY", version, a little header (a Python dict literal
// with descr, fortran_order, shape), then the values. Supported: float32, float64, uint8, int32, int64
// (and int8/int16), either byte order, C order.
import { DatasetError, resolveLimits, type DataLimits } from './errors.js';
import { elementCount, type DType, type NdArray } from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: DType; size: number }> = {
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  u1: { dtype: 'uint8', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  i2: { dtype: 'int16', size: 2 },
  i4: { dtype: 'int32', size: 4 },
  i8: { dtype: 'int64', size: 8 },
};

export function parseNpy(bytes: Uint8Array, opts: { name?: string; limits?: DataLimits } = {}): NdArray {
  const field = opts.name ?? 'npy';
  const limits = resolveLimits(opts.limits);
  if (bytes.length === 0) throw new DatasetError(field, 'is empty');
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new DatasetError(field, 'is not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DatasetError(field, 'is truncated inside its header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new DatasetError(field, `has .npy format version ${major}, this reader knows 1, 2 and 3`);
  }
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) throw new DatasetError(field, `is truncated: its header needs ${dataStart} bytes, the file has ${bytes.length}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const descr = /['"]descr['"]\s*:\s*['"]([<>|=])([a-zA-Z]\d+)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeText) throw new DatasetError(field, `has a malformed .npy header: ${header.trim()}`);
  const type = DESCR[descr[2]!];
  if (!type) throw new DatasetError(field, `has dtype ${descr[1]}${descr[2]}; supported: float32, float64, uint8, int8, int16, int32, int64`);
  if (fortran[1] === 'True') throw new DatasetError(field, 'is in Fortran order; save it in C order (np.ascontiguousarray)');
  const dims = shapeText[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (dims.some((d) => !/^\d+L?$/.test(d))) throw new DatasetError(field, `has a malformed shape (${shapeText[1]})`);
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const count = elementCount(shape);
  const dataBytes = count * type.size;
  if (dataBytes > limits.maxBytes) throw new DatasetError(field, `declares ${dataBytes} bytes of data, more than the limit of ${limits.maxBytes}`);
  if (bytes.length < dataStart + dataBytes) {
    throw new DatasetError(field, `is truncated: shape [${shape.join(', ')}] of ${type.dtype} needs ${dataStart + dataBytes} bytes, the file has ${bytes.length}`);
  }
  if (bytes.length > dataStart + dataBytes) throw new DatasetError(field, `has ${bytes.length - dataStart - dataBytes} bytes after the data of shape [${shape.join(', ')}]`);
  const little = descr[1] !== '>';
  const raw = new Uint8Array(bytes.subarray(dataStart, dataStart + dataBytes)); // a copy with its own buffer (Buffer#slice would share)
  const rv = new DataView(raw.buffer);
  let data: NdArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = raw;
      break;
    case 'int8':
      data = new Int8Array(raw.buffer);
      break;
    case 'int64': {
      // Class labels and the like: exact as numbers up to 2^53; larger values are refused.
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = rv.getBigInt64(i * 8, little);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new DatasetError(`${field}[${i}]`, `int64 value ${v} is beyond 2^53`);
        out[i] = Number(v);
      }
      data = out;
      break;
    }
    default: {
      const out = type.dtype === 'int16' ? new Int16Array(count) : type.dtype === 'int32' ? new Int32Array(count) : type.dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
      const hostLittle = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
      if (little === hostLittle) {
        out.set(new (out.constructor as new (b: ArrayBuffer) => typeof out)(raw.buffer));
      } else {
        for (let i = 0; i < count; i++) {
          const at = i * type.size;
          out[i] = type.dtype === 'int16' ? rv.getInt16(at, little) : type.dtype === 'int32' ? rv.getInt32(at, little) : type.dtype === 'float32' ? rv.getFloat32(at, little) : rv.getFloat64(at, little);
        }
      }
      data = out;
    }
  }
  return { dtype: type.dtype, shape, data };
}

const NPY_DESCR: Record<DType, string> = { float32: '<f4', float64: '<f8', uint8: '|u1', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8' };

/** Encodes an array as .npy version 1.0 bytes (little-endian, C order). */
export function encodeNpy(array: NdArray): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${NPY_DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const size = Number(NPY_DESCR[array.dtype].slice(2));
  const out = new Uint8Array(10 + header.length + array.data.length * size);
  out.set(MAGIC);
  out[6] = 1;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const at0 = 10 + header.length;
  for (let i = 0; i < array.data.length; i++) {
    const at = at0 + i * size;
    const v = array.data[i]!;
    switch (array.dtype) {
      case 'uint8':
        out[at] = v;
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'int16':
        view.setInt16(at, v, true);
        break;
      case 'int32':
        view.setInt32(at, v, true);
        break;
      case 'int64':
        view.setBigInt64(at, BigInt(v), true);
        break;
      case 'float32':
        view.setFloat32(at, v, true);
        break;
      case 'float64':
        view.setFloat64(at, v, true);
        break;
    }
  }
  return out;
}

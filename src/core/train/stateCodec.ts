// A binary file for training state: a JSON header describing the structure, then the raw bytes of every
// typed array it holds (4-byte aligned, little-endian as the host), so checkpoints of large models move
// as bytes rather than as JSON arrays of numbers. Non-finite numbers (a NaN loss) survive the header.
//
// Layout: "QATSTATE" | u32 version | u32 header bytes | header (UTF-8 JSON) | pad to 4 | array bytes.
// The header's `arrays` table gives each array's dtype, byte offset (from the data start) and length;
// in the structure an array is `{"$array": index}`, a non-finite number `{"$number": "NaN"}`.

const MAGIC = 'QATSTATE';
export const STATE_CODEC_VERSION = 1;

type ArrayDtype = 'float32' | 'int32' | 'uint8';
interface ArrayEntry {
  dtype: ArrayDtype;
  offset: number;
  length: number;
}

export class StateCodecError extends Error {
  constructor(message: string) {
    super(`invalid state file: ${message}`);
    this.name = 'StateCodecError';
  }
}

const dtypeOf = (a: ArrayBufferView): ArrayDtype | null =>
  a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : a instanceof Uint8Array ? 'uint8' : null;

const align4 = (n: number): number => (n + 3) & ~3;

export function encodeState(value: unknown): Uint8Array {
  const arrays: ArrayBufferView[] = [];
  const table: ArrayEntry[] = [];
  let offset = 0;
  const structure = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    if (ArrayBuffer.isView(v)) {
      const dtype = dtypeOf(v);
      if (!dtype) throw new TypeError(`cannot encode a ${v.constructor.name}`);
      table.push({ dtype, offset, length: (v as Float32Array).length });
      arrays.push(v);
      offset = align4(offset + v.byteLength);
      return { $array: table.length - 1 };
    }
    return v;
  });
  const header = new TextEncoder().encode(JSON.stringify({ structure: JSON.parse(structure) as unknown, arrays: table, dataBytes: offset }));
  const dataStart = align4(16 + header.byteLength);
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, STATE_CODEC_VERSION, true);
  view.setUint32(12, header.byteLength, true);
  out.set(header, 16);
  arrays.forEach((a, i) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dataStart + table[i]!.offset));
  return out;
}

export function decodeState(bytes: Uint8Array): unknown {
  if (bytes.byteLength < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new StateCodecError('not a state file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== STATE_CODEC_VERSION) throw new StateCodecError(`format version ${version}, this build reads ${STATE_CODEC_VERSION}`);
  const headerBytes = view.getUint32(12, true);
  if (16 + headerBytes > bytes.byteLength) throw new StateCodecError('truncated header');
  let header: { structure: unknown; arrays: ArrayEntry[]; dataBytes: number };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerBytes))) as typeof header;
  } catch {
    throw new StateCodecError('unreadable header');
  }
  const dataStart = align4(16 + headerBytes);
  if (bytes.byteLength !== dataStart + header.dataBytes) throw new StateCodecError(`${bytes.byteLength} bytes, the header describes ${dataStart + header.dataBytes}`);
  const arrays = header.arrays.map(({ dtype, offset, length }) => {
    const width = dtype === 'uint8' ? 1 : 4;
    if (offset < 0 || offset + length * width > header.dataBytes) throw new StateCodecError('array outside the data');
    // A private, aligned copy: the input may sit at any offset of a larger buffer, and a Node Buffer's
    // slice() is a view of it, not a copy.
    const raw = new Uint8Array(bytes.subarray(dataStart + offset, dataStart + offset + length * width));
    return dtype === 'float32' ? new Float32Array(raw.buffer) : dtype === 'int32' ? new Int32Array(raw.buffer) : raw;
  });
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$array === 'number' && Object.keys(o).length === 1) {
        const a = arrays[o.$array];
        if (!a) throw new StateCodecError(`array ${o.$array} is not in the table`);
        return a;
      }
      if (typeof o.$number === 'string' && Object.keys(o).length === 1) return Number(o.$number);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
    }
    return v;
  };
  return revive(header.structure);
}

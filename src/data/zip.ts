// A minimal ZIP reader for NPZ archives (and IDX archives): the end-of-central-directory record, the
// central directory (with ZIP64 sizes), stored or deflated entries (node:zlib inflateRaw), CRC-32 checked.
// Limits on the number of entries and on each entry's size are checked before anything is inflated.
import { crc32, inflateRawSync } from 'node:zlib';
import { DatasetError } from './errors.js';

export interface ZipLimits {
  /** Default 1,000. */
  maxEntries?: number;
  /** Uncompressed bytes of any one entry (default 2 GiB). */
  maxEntryBytes?: number;
}

export interface ZipEntry {
  name: string;
  compressedSize: number;
  size: number;
  method: number;
  crc: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;

/** The entries of a ZIP archive and a function that reads one of them. */
export function readZip(bytes: Uint8Array, opts: ZipLimits & { name?: string } = {}): { entries: ZipEntry[]; read: (e: ZipEntry) => Uint8Array } {
  const field = opts.name ?? 'zip';
  const maxEntries = opts.maxEntries ?? 1000;
  const maxEntryBytes = opts.maxEntryBytes ?? 2 ** 31;
  if (bytes.length === 0) throw new DatasetError(field, 'is empty');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const bad = (why: string) => new DatasetError(field, `is not a valid ZIP archive: ${why}`);
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record (truncated, or not a ZIP file)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if ((count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) && eocd >= 20 && u32(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(eocd - 20 + 8);
    if (at + 56 > bytes.length || u32(at) !== EOCD64) throw bad('broken ZIP64 end-of-central-directory record');
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
  }
  if (count > maxEntries) throw new DatasetError(field, `has ${count} entries, more than the limit of ${maxEntries}`);
  if (cdOffset + cdSize > bytes.length) throw bad('the central directory lies beyond the end of the file (truncated)');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || u32(p) !== CENTRAL) throw bad(`central directory entry ${k} is malformed`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let compressedSize = u32(p + 20);
    let size = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let localHeaderOffset = u32(p + 42);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: the 64-bit values, in order, of those fields that are 0xffffffff.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = u64(q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(q)), (q += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(q);
      }
      e += 4 + len;
    }
    if (flags & 1) throw new DatasetError(`${field}:${name}`, 'is encrypted');
    if (method !== 0 && method !== 8) throw new DatasetError(`${field}:${name}`, `uses compression method ${method}; stored (0) and deflate (8) are supported`);
    if (size > maxEntryBytes) throw new DatasetError(`${field}:${name}`, `is ${size} bytes uncompressed, more than the limit of ${maxEntryBytes}`);
    entries.push({ name, compressedSize, size, method, crc, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  const read = (entry: ZipEntry): Uint8Array => {
    const at = entry.localHeaderOffset;
    if (at + 30 > bytes.length || u32(at) !== LOCAL) throw bad(`the local header of ${entry.name} is missing`);
    const start = at + 30 + u16(at + 26) + u16(at + 28);
    if (start + entry.compressedSize > bytes.length) throw new DatasetError(`${field}:${entry.name}`, 'is truncated');
    const raw = bytes.subarray(start, start + entry.compressedSize);
    let out: Uint8Array;
    if (entry.method === 0) {
      out = raw;
    } else {
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      } catch (err) {
        throw new DatasetError(`${field}:${entry.name}`, `does not inflate (${(err as Error).message})`);
      }
    }
    if (out.length !== entry.size) throw new DatasetError(`${field}:${entry.name}`, `holds ${out.length} bytes, its directory entry says ${entry.size}`);
    if ((crc32(out) >>> 0) !== entry.crc) throw new DatasetError(`${field}:${entry.name}`, 'fails its CRC-32 check (corrupt archive)');
    return out;
  };
  return { entries, read };
}

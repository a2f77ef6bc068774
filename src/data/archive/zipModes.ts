// The Unix file type of each ZIP entry, which src/data/zip.ts does not expose: "version made by" says
// the host, and on Unix hosts the high 16 bits of the external attributes are st_mode, where a
// symbolic link (S_IFLNK), device or FIFO shows. Walks the central directory readZip already validated,
// in the same order as its entries.
const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const HOST_UNIX = 3;

/** st_mode file-type bits (S_IFMT) → what the entry is, for those a dataset archive must not hold. */
export const SPECIAL_TYPES: Record<number, string> = {
  0o120000: 'is a symbolic link',
  0o020000: 'is a character device',
  0o060000: 'is a block device',
  0o010000: 'is a FIFO',
  0o140000: 'is a socket',
};

/** Per central-directory entry: its name and Unix S_IFMT bits (0 when not made on Unix). */
export function zipFileTypes(bytes: Uint8Array): { name: string; type: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) return [];
  let count = u16(eocd + 10);
  let p = u32(eocd + 16);
  if ((count === 0xffff || p === 0xffffffff) && eocd >= 20 && u32(eocd - 20) === EOCD64_LOCATOR) {
    const at = Number(view.getBigUint64(eocd - 20 + 8, true));
    count = Number(view.getBigUint64(at + 32, true));
    p = Number(view.getBigUint64(at + 48, true));
  }
  const out: { name: string; type: number }[] = [];
  for (let k = 0; k < count && p + 46 <= bytes.length && u32(p) === CENTRAL; k++) {
    const host = bytes[p + 5]!;
    const flags = u16(p + 8);
    const nameLen = u16(p + 28);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const type = host === HOST_UNIX ? (u32(p + 38) >>> 16) & 0o170000 : 0;
    out.push({ name, type });
    p += 46 + nameLen + u16(p + 30) + u16(p + 32);
  }
  return out;
}

// ZIP archives unpacked into memory through src/data/zip.ts. Its central directory declares every size
// up front (and readZip inflates no further than the declared size, then checks length and CRC), so
// entry count, total size and each entry's compression ratio are all refused before anything inflates.
import { DatasetError } from '../errors.js';
import { readZip } from '../zip.js';
import { entryPath } from './entryPath.js';
import { ArchiveBudget, type ArchiveLimits, ratioExceeded } from './limits.js';
import { SPECIAL_TYPES, zipFileTypes } from './zipModes.js';

const S_IFDIR = 0o040000;

export function readZipArchive(bytes: Uint8Array, o: { name: string; limits: Required<ArchiveLimits> }): Map<string, Uint8Array> {
  const archive = o.name;
  const zip = readZip(bytes, { name: archive, maxEntries: o.limits.maxEntries, maxEntryBytes: o.limits.maxTotalBytes });
  const types = zipFileTypes(bytes);
  const budget = new ArchiveBudget(o.limits, archive);
  const keep: { path: string; index: number }[] = [];
  const seen = new Set<string>();
  zip.entries.forEach((e, index) => {
    const field = `${archive}:${e.name}`;
    budget.entry(e.name);
    const path = entryPath(e.name, archive);
    const type = types[index]?.name === e.name ? types[index]!.type : 0;
    const special = SPECIAL_TYPES[type];
    if (special) throw new DatasetError(field, `${special}: only regular files and directories are accepted`);
    if (e.name.endsWith('/') || e.name.endsWith('\\') || type === S_IFDIR) return;
    if (seen.has(path)) throw new DatasetError(field, `appears twice in the archive (as ${JSON.stringify(path)})`);
    seen.add(path);
    if (ratioExceeded(e.size, e.compressedSize, o.limits)) {
      throw new DatasetError(field, `declares ${e.size} bytes from ${e.compressedSize} compressed: above the compression ratio limit of ${o.limits.maxRatio}:1 (a decompression bomb?)`);
    }
    budget.reserve(e.name, e.size);
    keep.push({ path, index });
  });
  const files = new Map<string, Uint8Array>();
  for (const { path, index } of keep) files.set(path, zip.read(zip.entries[index]!));
  return files;
}

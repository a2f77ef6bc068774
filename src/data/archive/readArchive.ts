// One entry point for archives, whatever their kind: told from the first bytes (not the file name, which
// an upload may not have): ZIP (PK), gzip (a compressed tar), else a plain tar.
import { DatasetError } from '../errors.js';
import { readAllBytes } from '../source.js';
import { type ByteSource, peek } from './byteSource.js';
import { type ArchiveLimits, resolveArchiveLimits } from './limits.js';
import { readTar } from './tar.js';
import { readZipArchive } from './zipArchive.js';

export type ArchiveKind = 'zip' | 'tar.gz' | 'tar';

export interface ArchiveOptions {
  /** The archive's name in error fields (default "archive"). */
  name?: string;
  limits?: ArchiveLimits;
}

export function archiveKind(head: Uint8Array): ArchiveKind {
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  return 'tar';
}

/**
 * The regular files of a .zip, .tar or .tar.gz/.tgz by normalised relative path (directories skipped),
 * within the limits; unsafe entries (absolute, `..`, links, devices) are refused, never skipped.
 */
export async function readArchive(source: ByteSource, opts: ArchiveOptions = {}): Promise<Map<string, Uint8Array>> {
  const name = opts.name ?? 'archive';
  const limits = resolveArchiveLimits(opts.limits);
  const { head, all } = await peek(source, 4);
  if (head.length === 0) throw new DatasetError(name, 'is empty');
  const kind = archiveKind(head);
  if (kind === 'zip') {
    // ZIP needs random access (its directory is at the end); its size is bounded by what it may unpack to.
    const bytes = await readAllBytes(all, limits.maxTotalBytes + (1 << 20), name);
    return readZipArchive(bytes, { name, limits });
  }
  return readTar(all, { name, limits, gzip: kind === 'tar.gz' });
}

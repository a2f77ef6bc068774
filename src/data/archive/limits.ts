// Limits on what an archive may unpack to. They are options, not constants: the CLI uses the defaults,
// HTTP uploads (issue 6) pass their own. Every check runs on sizes known before the bytes are
// materialised (tar header sizes, ZIP directory sizes) or while decompressing, so a bomb is refused
// after at most `ratioGraceBytes` of real output, never after filling memory.
import { DatasetError } from '../errors.js';

export interface ArchiveLimits {
  /** Sum of the entries' uncompressed sizes (default 2 GiB, the largest array the parsers accept). */
  maxTotalBytes?: number;
  /** Entries, directories included (default 10,000). */
  maxEntries?: number;
  /** Uncompressed bytes per compressed byte (default 100; real datasets measure 5–10, a deflate bomb ~1,000). */
  maxRatio?: number;
  /** Output allowed before the ratio is enforced, so small, very regular files pass (default 1 MiB). */
  ratioGraceBytes?: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = {
  maxTotalBytes: 2 ** 31,
  maxEntries: 10_000,
  maxRatio: 100,
  ratioGraceBytes: 1 << 20,
};

export function resolveArchiveLimits(limits: ArchiveLimits | undefined): Required<ArchiveLimits> {
  const l = { ...DEFAULT_ARCHIVE_LIMITS, ...(limits ?? {}) };
  for (const [k, v] of Object.entries(l)) {
    if (!(typeof v === 'number' && v >= 0)) throw new DatasetError(`limits.${k}`, `must be a non-negative number, got ${String(v)}`);
  }
  return l;
}

/** Whether `output` bytes from `input` compressed bytes break the ratio limit (past the grace amount). */
export function ratioExceeded(output: number, input: number, l: Required<ArchiveLimits>): boolean {
  return output > l.ratioGraceBytes && output > l.maxRatio * input;
}

/** Counts entries and kept bytes across an archive; throws naming the entry that crosses a limit. */
export class ArchiveBudget {
  private entries = 0;
  private bytes = 0;

  constructor(
    private readonly limits: Required<ArchiveLimits>,
    private readonly archive: string,
  ) {}

  entry(name: string): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new DatasetError(`${this.archive}:${name}`, `is entry ${this.entries}: the archive has more than the limit of ${this.limits.maxEntries} entries`);
    }
  }

  /** Reserve an entry's uncompressed size before its bytes are read. */
  reserve(name: string, size: number): void {
    this.bytes += size;
    if (this.bytes > this.limits.maxTotalBytes) {
      throw new DatasetError(`${this.archive}:${name}`, `is ${size} bytes: the entries so far total ${this.bytes} bytes uncompressed, more than the limit of ${this.limits.maxTotalBytes}`);
    }
  }
}

// The storage half of an upload (datasets and models alike): each file part is streamed into the blob
// store under `<kind>/<id>/<file name>` with its sha256 computed on the way and the request's total
// size limit enforced as bytes arrive; nothing is parsed here. A session either ends in a row that
// owns the prefix (the caller's job) or in `abort()`, which removes every blob it wrote.
import { createHash } from 'node:crypto';
import { PayloadTooLargeError, ValidationError } from '../errors/index.js';
import type { BlobStore } from '../storage/blobStore.js';

/** A stored file of an upload: where it is and the name the client gave it (sanitised). */
export interface StoredFileRef {
  key: string;
  name: string;
}

export interface StoredFile extends StoredFileRef {
  sizeBytes: number;
  sha256: string;
}

const MAX_NAME = 200;

/**
 * A client's file name as a blob key segment: its last path segment (browsers and curl send only that,
 * other clients may not), every character outside `A-Z a-z 0-9 . _ -` replaced by `_`, and a leading
 * dot replaced too, so no name is hidden, `.` or `..`.
 */
export function safeFileName(raw: string | undefined): string {
  const leaf = (raw ?? '').split(/[\\/]/).pop() ?? '';
  if (leaf.trim() === '') {
    throw new ValidationError([{ field: 'file', reason: 'every file part needs a file name (the filename of its Content-Disposition)' }]);
  }
  const cleaned = leaf.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_');
  return cleaned.length > MAX_NAME ? cleaned.slice(cleaned.length - MAX_NAME) : cleaned;
}

/**
 * The digest of an upload: the file's own sha256 for one file; for several, the sha256 of their
 * `name sha256` lines sorted and joined by newlines (no trailing newline) — what `qat run` reports for
 * a folder of files, so the same IDX set hashes the same whichever way it arrived.
 */
export function combinedSha256(files: readonly { name: string; sha256: string }[]): string {
  if (files.length === 1) return files[0]!.sha256;
  const lines = files.map((f) => `${f.name} ${f.sha256}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

export class UploadSession {
  readonly prefix: string;
  private readonly stored: StoredFile[] = [];
  private bytes = 0;

  constructor(
    private readonly store: BlobStore,
    kind: 'datasets' | 'models',
    readonly id: string,
    private readonly maxBytes: number,
  ) {
    this.prefix = `${kind}/${id}/`;
  }

  get files(): readonly StoredFile[] {
    return this.stored;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Streams one file into the store; PayloadTooLargeError (with the request's limit) once the upload passes it. */
  async addFile(rawName: string | undefined, source: AsyncIterable<Uint8Array> | Uint8Array): Promise<StoredFile> {
    const name = safeFileName(rawName);
    if (this.stored.some((f) => f.name === name)) {
      throw new ValidationError([{ field: 'file', reason: `two files are named '${name}': file names in one upload must differ` }]);
    }
    const key = `${this.prefix}${name}`;
    let info;
    try {
      info = await this.store.put(key, source, { maxBytes: this.maxBytes - this.bytes });
    } catch (err) {
      if (err instanceof PayloadTooLargeError) throw new PayloadTooLargeError(this.maxBytes);
      throw err;
    }
    const file = { key, name, sizeBytes: info.sizeBytes, sha256: info.sha256 };
    this.bytes += info.sizeBytes;
    this.stored.push(file);
    return file;
  }

  get sha256(): string {
    return combinedSha256(this.stored);
  }

  /** Removes everything this upload stored (safe to call more than once, and when nothing was stored). */
  async abort(): Promise<void> {
    await this.store.deletePrefix(this.prefix);
  }

  /** abort() for a failed upload: a failure to remove is reported, never thrown over the upload's own error. */
  async discard(onCleanupError?: (prefix: string, err: unknown) => void): Promise<void> {
    await this.abort().catch((err: unknown) => onCleanupError?.(this.prefix, err));
  }
}

// Where uploads and artifacts live. Local disk by default; the interface is what the rest of the
// service relies on, so an object store can replace it without touching callers.
//
// Keys are relative slash-separated paths (`datasets/<id>/train.csv`). A put is all-or-nothing: readers
// never see a half-written blob, and a failed or oversized upload leaves nothing behind.
import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  sizeBytes: number;
  sha256: string;
}

export interface PutOptions {
  /** Refuse (PayloadTooLargeError) once the stream passes this many bytes; nothing is kept. */
  maxBytes?: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in an HTTP Range header). */
  end: number;
}

export interface BlobStore {
  /** Human-readable location for logs and readiness output. */
  readonly description: string;
  /** Proves the store is reachable and writable (readiness). */
  check(): Promise<void>;
  /** Streams bytes in, computing their sha256 on the way. Replaces an existing blob atomically. */
  put(key: string, source: AsyncIterable<Uint8Array> | Uint8Array, options?: PutOptions): Promise<BlobInfo>;
  /** Size of a blob, or null when absent. */
  size(key: string): Promise<number | null>;
  /** The whole blob in memory (for parsers that need random access); NotFoundError when absent. */
  read(key: string): Promise<Uint8Array>;
  /** A stream of the blob or a byte range of it; NotFoundError when absent. */
  stream(key: string, range?: ByteRange): Promise<Readable>;
  /** Keys under a prefix (`datasets/<id>/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every blob under a prefix; absent prefixes are fine. */
  deletePrefix(prefix: string): Promise<void>;
}

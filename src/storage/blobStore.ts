// Where uploads and artifacts live. Local disk by default; the interface is what the rest of the
// service relies on, so an object store can replace it without touching callers.
export interface BlobStore {
  /** Human-readable location for logs and readiness output. */
  readonly description: string;
  /** Proves the store is reachable and writable (readiness). */
  check(): Promise<void>;
}

// Coalescing of identical reads without serving anything staler than the request: when many clients
// poll the same row (a job's status), one query answers a whole batch of them.
//
// A request never joins a query that is already running: that query's snapshot may predate a commit the
// client has already seen (its own cancel, an SSE event). It joins the next query for the same key,
// which starts as soon as the running one ends, so every answer reflects every commit made before the
// request arrived (READ COMMITTED takes each statement's snapshot when it starts). Per key, at most one
// query runs and one waits; a request waits at most for the end of the running one, then its own.
//
// Results are shared by every request of a batch: callers must not mutate them.

interface Slot<V> {
  running: Promise<V> | null;
  queued: Promise<V> | null;
}

const ignore = (): void => undefined;

export class FreshReadBatcher<V> {
  private readonly slots = new Map<string, Slot<V>>();

  /** Keys with a query running or waiting (for tests and metrics). */
  get pending(): number {
    return this.slots.size;
  }

  /** Runs `read` for `key`, or joins the batch that will run next for it; `read` must depend on `key` only. */
  get(key: string, read: () => Promise<V>): Promise<V> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { running: null, queued: null };
      this.slots.set(key, slot);
    }
    const { running } = slot;
    if (!running) return this.launch(key, slot, read);
    const s = slot;
    s.queued ??= running.then(ignore, ignore).then(() => {
      s.queued = null;
      return this.launch(key, s, read);
    });
    return s.queued;
  }

  private launch(key: string, slot: Slot<V>, read: () => Promise<V>): Promise<V> {
    let p: Promise<V>;
    try {
      p = read();
    } catch (err) {
      p = Promise.reject(err);
    }
    slot.running = p;
    const settle = () => {
      if (slot.running === p) slot.running = null;
      if (!slot.running && !slot.queued && this.slots.get(key) === slot) this.slots.delete(key);
    };
    p.then(settle, settle);
    return p;
  }
}

// What the archive readers take: bytes in memory or a stream of byte chunks (a Node Readable, an HTTP
// request body). Streams are read once, so the format is told from a peek at the first bytes, which
// are then handed back in front of the rest.
import { chunks } from '../source.js';

export type ByteSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** The first `n` bytes (fewer if the source is shorter) and the whole source, those bytes included. */
export async function peek(source: ByteSource, n: number): Promise<{ head: Uint8Array; all: AsyncIterable<Uint8Array> }> {
  const it = (chunks(source) as AsyncGenerator<Uint8Array>)[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    have += r.value.length;
  }
  const head = new Uint8Array(Math.min(n, have));
  let at = 0;
  for (const c of seen) {
    if (at >= head.length) break;
    const part = c.subarray(0, head.length - at);
    head.set(part, at);
    at += part.length;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, all: all() };
}

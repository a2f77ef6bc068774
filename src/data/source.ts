// What parsers read: bytes in memory or a stream of chunks (a Node Readable is an AsyncIterable<Buffer>).
// Text is decoded a slice at a time, so a parser never holds the whole file as a string next to its bytes.
import { DatasetError } from './errors.js';

export type DataChunk = Uint8Array | string;
export type DataSource = DataChunk | Iterable<DataChunk> | AsyncIterable<DataChunk>;

const SLICE = 1 << 20;

function isChunk(s: DataSource): s is DataChunk {
  return typeof s === 'string' || s instanceof Uint8Array;
}

/** The source as byte/string chunks of at most ~1 MiB. */
export async function* chunks(source: DataSource): AsyncGenerator<DataChunk> {
  const pieces = (c: DataChunk): DataChunk[] => {
    const out: DataChunk[] = [];
    for (let i = 0; i < c.length; i += SLICE) out.push(typeof c === 'string' ? c.slice(i, i + SLICE) : c.subarray(i, i + SLICE));
    return out;
  };
  if (isChunk(source)) {
    yield* pieces(source);
    return;
  }
  for await (const c of source as AsyncIterable<DataChunk>) yield* pieces(c);
}

/** The source decoded as UTF-8 text, a slice at a time (a BOM is dropped, invalid UTF-8 is an error). */
export async function* textChunks(source: DataSource, field: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const c of chunks(source)) {
      const text = typeof c === 'string' ? c : decoder.decode(c, { stream: true });
      if (text.length > 0) yield text;
    }
    const tail = decoder.decode();
    if (tail.length > 0) yield tail;
  } catch (e) {
    if (e instanceof TypeError && /encoded|decode/i.test(e.message)) throw new DatasetError(field, 'is not valid UTF-8 text');
    throw e;
  }
}

/** All bytes of the source in one Uint8Array (binary formats need random access). */
export async function readAllBytes(source: DataSource, maxBytes: number, field: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) {
    if (source.length > maxBytes) throw new DatasetError(field, `is ${source.length} bytes, more than the limit of ${maxBytes}`);
    return source;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of chunks(source)) {
    const b = typeof c === 'string' ? new TextEncoder().encode(c) : c;
    total += b.length;
    if (total > maxBytes) throw new DatasetError(field, `is more than the limit of ${maxBytes} bytes`);
    parts.push(b);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

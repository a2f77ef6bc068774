// Streaming gunzip with the archive limits applied to its output as it comes: the total (the zlib
// convenience functions' maxOutputLength, which streams lack) and the compression ratio, checked on
// every output chunk against the input consumed so far — a bomb stops after ~ratioGraceBytes.
import { pipeline, Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { DatasetError } from '../errors.js';
import { type ArchiveLimits, ratioExceeded } from './limits.js';

export interface GunzipOptions {
  limits: Required<ArchiveLimits>;
  /** Most bytes the stream may decompress to. */
  maxOutput: number;
  field: string;
  /** Where in the archive the reader is, for messages (e.g. ` inside entry "a.csv"`). */
  where: () => string;
}

export async function* gunzipBounded(input: AsyncIterable<Uint8Array>, o: GunzipOptions): AsyncGenerator<Uint8Array> {
  let inBytes = 0;
  let outBytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of input) {
      inBytes += c.length;
      yield c;
    }
  }
  // High-water marks of 1 (zlib streams take Transform options, which ZlibOptions does not list): input
  // is read only as zlib asks for it, so `inBytes` is what produced the output.
  const gunzip = pipeline(Readable.from(counted(), { highWaterMark: 1 }), createGunzip({ chunkSize: 1 << 16, writableHighWaterMark: 1 } as ZlibOptions), () => {});
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      outBytes += chunk.length;
      if (outBytes > o.maxOutput) {
        throw new DatasetError(o.field, `decompresses to more than the limit of ${o.maxOutput} bytes${o.where()}`);
      }
      if (ratioExceeded(outBytes, inBytes, o.limits)) {
        throw new DatasetError(o.field, `decompresses ${inBytes} bytes to more than ${outBytes}${o.where()}: above the compression ratio limit of ${o.limits.maxRatio}:1 (a decompression bomb?)`);
      }
      yield chunk;
    }
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(String(e))) throw new DatasetError(o.field, `is truncated: the gzip stream ends early${o.where()}`);
    if (typeof code === 'string' && code.startsWith('Z_')) throw new DatasetError(o.field, `is not valid gzip data (${(e as Error).message})${o.where()}`);
    throw e;
  } finally {
    gunzip.destroy();
  }
}

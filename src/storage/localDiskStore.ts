// The default BlobStore: a directory on local disk. One machine only — workers on other machines
// would not see its files. Puts go to a temp file that is renamed into place, so a crash or a refused
// upload never leaves a partial blob under a real key.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConflictError, DependencyUnavailableError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors/index.js';
import type { BlobInfo, BlobStore, ByteRange, PutOptions } from './blobStore.js';
import { checkKey, checkPrefix } from './keys.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class LocalDiskStore implements BlobStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local disk ${root}`;
  }

  private file(key: string): string {
    return path.join(this.root, 'blobs', ...checkKey(key).split('/'));
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, '.tmp', `probe-${randomUUID()}`);
    try {
      await mkdir(path.dirname(probe), { recursive: true });
      await writeFile(probe, 'ok');
      await rm(probe);
    } catch (err) {
      throw new DependencyUnavailableError('data_dir', `${this.root} is not writable: ${(err as Error).message}`, { cause: err });
    }
  }

  async put(key: string, source: AsyncIterable<Uint8Array> | Uint8Array, options: PutOptions = {}): Promise<BlobInfo> {
    const target = this.file(key);
    const temp = path.join(this.root, '.tmp', `put-${randomUUID()}`);
    await mkdir(path.dirname(temp), { recursive: true });
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) return done(new PayloadTooLargeError(options.maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      // pipeline() propagates a failing source, a refused size and a disk error (ENOSPC, EFBIG) alike.
      await pipeline(source instanceof Uint8Array ? Readable.from([source]) : Readable.from(source), meter, createWriteStream(temp));
      await mkdir(path.dirname(target), { recursive: true }).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === 'EEXIST' || (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? new ConflictError(`'${key}' is inside an existing blob`, 'BLOB_CONFLICT') : err;
      });
      await rename(temp, target).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === 'EISDIR' ? new ConflictError(`'${key}' is a folder of blobs`, 'BLOB_CONFLICT') : err;
      });
      return { key, sizeBytes: size, sha256: hash.digest('hex') };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? s.size : null; // a folder of blobs is not a blob
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(key: string): Promise<Uint8Array> {
    if ((await this.size(key)) === null) throw new NotFoundError('blob', key);
    return readFile(this.file(key));
  }

  async stream(key: string, range?: ByteRange): Promise<Readable> {
    const size = await this.size(key);
    if (size === null) throw new NotFoundError('blob', key);
    if (range && !(range.start >= 0 && range.start <= range.end && range.end < size)) {
      throw new ValidationError([{ field: 'range', reason: `bytes ${range.start}-${range.end} are outside the blob's ${size} bytes` }]);
    }
    return createReadStream(this.file(key), range ? { start: range.start, end: range.end } : {});
  }

  async list(prefix: string): Promise<string[]> {
    const p = checkPrefix(prefix);
    const dir = path.join(this.root, 'blobs', ...p.replace(/\/$/, '').split('/'));
    const base = path.join(this.root, 'blobs');
    try {
      if (!(await stat(dir)).isDirectory()) return [];
      const entries = await readdir(dir, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(base, path.join(e.parentPath ?? dir, e.name)).split(path.sep).join('/'))
        .sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const p = checkPrefix(prefix);
    await rm(path.join(this.root, 'blobs', ...p.replace(/\/$/, '').split('/')), { recursive: true, force: true });
  }
}

// The default BlobStore: a directory on local disk. One machine only — workers on other machines
// would not see its files. Puts go to a temp file that is renamed into place, so a crash or a refused
// upload never leaves a partial blob under a real key.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { DependencyUnavailableError, NotFoundError, PayloadTooLargeError } from '../errors/index.js';
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
    const out = createWriteStream(temp);
    try {
      const chunks = source instanceof Uint8Array ? [source] : source;
      for await (const chunk of chunks) {
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) throw new PayloadTooLargeError(options.maxBytes);
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
      return { key, sizeBytes: size, sha256: hash.digest('hex') };
    } catch (err) {
      out.destroy();
      await rm(temp, { force: true });
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.file(key))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.file(key));
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError('blob', key);
      throw err;
    }
  }

  async stream(key: string, range?: ByteRange): Promise<Readable> {
    if ((await this.size(key)) === null) throw new NotFoundError('blob', key);
    return createReadStream(this.file(key), range ? { start: range.start, end: range.end } : {});
  }

  async list(prefix: string): Promise<string[]> {
    const p = checkPrefix(prefix);
    const dir = path.join(this.root, 'blobs', ...p.replace(/\/$/, '').split('/'));
    const base = path.join(this.root, 'blobs');
    try {
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

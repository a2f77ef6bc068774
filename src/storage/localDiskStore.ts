// The default BlobStore: a directory on local disk. One machine only — workers on other machines
// would not see its files.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DependencyUnavailableError } from '../errors/index.js';
import type { BlobStore } from './blobStore.js';

export class LocalDiskStore implements BlobStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local disk ${root}`;
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
}

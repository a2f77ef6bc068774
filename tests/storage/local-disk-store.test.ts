// The local-disk blob store on a real temp directory: atomic puts with sha256, limits that leave
// nothing behind, ranges, listing and deletion, and keys that cannot escape the root.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../src/errors/index.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { tempDir } from '../support/env.js';

async function* chunks(parts: string[]) {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('LocalDiskStore', () => {
  it('streams a put to disk with its size and sha256, and reads it back whole or by range', async () => {
    const root = tempDir('blobs-');
    const store = new LocalDiskStore(root);
    const wine = await readFile('tests/fixtures/sklearn/wine_data.csv');
    const info = await store.put('datasets/d1/wine.csv', chunks([wine.subarray(0, 1000).toString('latin1'), wine.subarray(1000).toString('latin1')]));
    expect(info).toEqual({ key: 'datasets/d1/wine.csv', sizeBytes: wine.byteLength, sha256: createHash('sha256').update(wine).digest('hex') });
    expect(Buffer.from(await store.read('datasets/d1/wine.csv')).equals(wine)).toBe(true);
    expect(await store.size('datasets/d1/wine.csv')).toBe(wine.byteLength);
    expect(await text(await store.stream('datasets/d1/wine.csv', { start: 10, end: 19 }))).toBe(wine.subarray(10, 20).toString('latin1'));
    expect(await store.list('datasets/')).toEqual(['datasets/d1/wine.csv']);
    await store.deletePrefix('datasets/d1/');
    expect(await store.size('datasets/d1/wine.csv')).toBeNull();
    expect(await store.list('datasets/')).toEqual([]);
  });

  it('refuses a put past maxBytes and keeps neither the blob nor a temp file', async () => {
    const root = tempDir('blobs-');
    const store = new LocalDiskStore(root);
    await expect(store.put('a/b.bin', chunks(['x'.repeat(600), 'y'.repeat(600)]), { maxBytes: 1000 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await store.size('a/b.bin')).toBeNull();
    expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
  });

  it('a failing source leaves the previous blob intact (all-or-nothing replace)', async () => {
    const store = new LocalDiskStore(tempDir('blobs-'));
    await store.put('k/v.txt', new TextEncoder().encode('old'));
    async function* failing() {
      yield new TextEncoder().encode('new, partial');
      throw new Error('client went away');
    }
    await expect(store.put('k/v.txt', failing())).rejects.toThrow('client went away');
    expect(new TextDecoder().decode(await store.read('k/v.txt'))).toBe('old');
  });

  it('answers NotFound for absent blobs and refuses keys that could escape the root', async () => {
    const store = new LocalDiskStore(tempDir('blobs-'));
    await expect(store.read('nope/x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.stream('nope/x')).rejects.toBeInstanceOf(NotFoundError);
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', '', 'a/b\\c', 'a/b c']) {
      await expect(store.put(key, new Uint8Array(1)), key).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(store.deletePrefix('../')).rejects.toBeInstanceOf(ValidationError);
  });

  it('keys that are folders or inside blobs are refused cleanly, and a range past the end is a validation error', async () => {
    const store = new LocalDiskStore(tempDir('blobs-'));
    await store.put('jobs/1/report.json', new TextEncoder().encode('{}'));
    expect(await store.size('jobs/1')).toBeNull();
    await expect(store.read('jobs/1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.list('jobs/1/report.json')).toEqual([]);
    await expect(store.put('jobs/1/report.json/x', new Uint8Array(1))).rejects.toMatchObject({ code: 'BLOB_CONFLICT' });
    await expect(store.put('jobs/1', new Uint8Array(1))).rejects.toMatchObject({ code: 'BLOB_CONFLICT' });
    await expect(store.stream('jobs/1/report.json', { start: 1, end: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.stream('jobs/1/report.json', { start: 0, end: 2 })).rejects.toBeInstanceOf(ValidationError);
  });
});

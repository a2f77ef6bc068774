// /v1/models through the production app against real Postgres and a real data directory: a zoo spec, the
// TF.js converter output of a trained Keras 2 model (model.json + weights, as parts and as a .zip), a Keras
// JSON; refusals (parameter limit, weight byte lengths, unknown zoo, no model JSON) leave no row and no
// file; paging, tenant isolation, deletion; and the inspector frees every tensor it makes.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/core/tf.js';
import { encodeZip } from '../../src/data/index.js';
import { createDb, type Db } from '../../src/db/client.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { InProcessModelInspector } from '../../src/workers/inspect/inspectionThreads.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { useBackend } from '../support/backends.js';
import { TEST_DATABASE_URL, tempDir } from '../support/env.js';

const MODELS = new URL('../fixtures/models/', import.meta.url);
const fixture = (p: string) => readFileSync(new URL(p, MODELS));
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

const irisJson = fixture('iris-keras2/model.json');
const irisBin = fixture('iris-keras2/group1-shard1of1.bin');
const kerasJson = fixture('keras2-iris-sequential.json');

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

const upload = (k: string, parts: Part[]) => t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(k), payload: form(parts) });
const zoo = (k: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(k), payload });

function storedFiles(): string[] {
  const list = (dir: string) => {
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
    } catch {
      return [];
    }
  };
  return [...list(path.join(t.config.dataDir, 'blobs', 'models')), ...list(path.join(t.config.dataDir, '.tmp'))];
}

const tenantRows = () => db.model.count({ where: { tenantId } });

/** The iris Keras JSON with a first Dense layer of `inputs` × `units` weights. */
function widened(inputs: number, units: number): string {
  const doc = JSON.parse(kerasJson.toString('utf8'));
  doc.config.layers[0].config.batch_input_shape = [null, inputs];
  doc.config.layers[0].config.units = units;
  return JSON.stringify(doc);
}

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

describe('POST /v1/models', () => {
  it('records a zoo architecture, built later for the job’s dataset', async () => {
    const res = await zoo(key, { zoo: 'cnn', width: 2 });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    const spec = JSON.stringify({ zoo: 'cnn', width: 2 });
    expect(body).toMatchObject({
      name: 'zoo:cnn',
      format: 'zoo',
      sha256: sha256(spec),
      size_bytes: spec.length,
      params: null,
      layers: [],
      input_shape: null,
      output_shape: null,
      has_weights: false,
      zoo: { name: 'cnn', width: 2 },
    });
    expect(res.headers.location).toBe(`/v1/models/${body.id}`);
    const row = await db.model.findUniqueOrThrow({ where: { id: body.id } });
    expect(row.inputShape).toBeNull();
    expect(readFileSync(path.join(t.config.dataDir, 'blobs', 'models', body.id, 'zoo.json'), 'utf8')).toBe(spec);
    expect((await zoo(key, { zoo: 'mlp' })).json()).toMatchObject({ zoo: { name: 'mlp', width: 1 } });
  });

  it('imports a TF.js model.json with its weights (parts): layers, shapes and parameter count', async () => {
    const res = await upload(key, [
      { file: irisJson, name: 'model.json' },
      { file: irisBin, name: 'group1-shard1of1.bin' },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const lines = [`group1-shard1of1.bin ${sha256(irisBin)}`, `model.json ${sha256(irisJson)}`].sort();
    expect(res.json()).toMatchObject({
      name: 'sequential',
      format: 'tfjs-layers',
      sha256: sha256(lines.join('\n')),
      size_bytes: irisJson.length + irisBin.length,
      params: 4 * 16 + 16 + 16 * 3 + 3,
      layers: [
        { name: 'dense_input', class_name: 'InputLayer' },
        { name: 'dense', class_name: 'Dense' },
        { name: 'dropout', class_name: 'Dropout' },
        { name: 'dense_1', class_name: 'Dense' },
      ],
      input_shape: [4],
      output_shape: [3],
      has_weights: true,
      zoo: null,
      unsupported_layers: [],
    });
    const row = await db.model.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row).toMatchObject({ params: 131n, inputShape: [4], storageKey: `models/${res.json().id}/` });
    expect(row.layers).toMatchObject({ roles: { model: 'model.json', weights: ['group1-shard1of1.bin'] } });
  });

  it('imports the same model from a .zip (files in a folder), named by the archive', async () => {
    const zip = encodeZip([
      { name: 'iris/model.json', data: irisJson },
      { name: 'iris/group1-shard1of1.bin', data: irisBin },
    ]);
    const res = await upload(key, [{ file: zip, name: 'iris-model.zip' }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ name: 'iris-model', format: 'tfjs-layers', sha256: sha256(zip), params: 131, has_weights: true, input_shape: [4] });
  });

  it('imports a Keras JSON architecture without weights', async () => {
    const res = await upload(key, [{ file: kerasJson, name: 'keras.json' }, { field: 'name', value: 'iris arch' }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ name: 'iris arch', format: 'keras-json', sha256: sha256(kerasJson), params: 4 * 8 + 8 + 8 * 3 + 3, input_shape: [4], output_shape: [3], has_weights: false });
  });

  it('imports a Keras JSON with a separate TF.js weights manifest (a JSON array) and its weight file', async () => {
    const converted = JSON.parse(irisJson.toString('utf8'));
    const res = await upload(key, [
      { file: JSON.stringify(converted.modelTopology), name: 'iris-keras.json' },
      { file: JSON.stringify(converted.weightsManifest), name: 'weights_manifest.json' },
      { file: irisBin, name: 'group1-shard1of1.bin' },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ format: 'keras-json', params: 131, has_weights: true, input_shape: [4], output_shape: [3] });
    const row = await db.model.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row.layers).toMatchObject({ roles: { model: 'iris-keras.json', manifest: 'weights_manifest.json', weights: ['group1-shard1of1.bin'] } });
  });
});

describe('refusals → 422 naming the field, nothing kept', () => {
  it.each([
    ['more parameters than MAX_MODEL_PARAMS (declared, never allocated)', () => [{ file: widened(5000, 20_000), name: 'huge.json' }], 'model', /100080003 parameters, over the limit of 50000000/],
    ['a weight file shorter than the manifest says', () => [{ file: irisJson, name: 'model.json' }, { file: irisBin.subarray(0, irisBin.length - 4), name: 'group1-shard1of1.bin' }], 'weights', /expected 524 bytes \(from the manifest\), got 520/],
    ['a weight file the manifest lists but the upload lacks', () => [{ file: irisJson, name: 'model.json' }], 'weights', /group1-shard1of1\.bin' listed in the manifest was not provided/],
    ['no model JSON', () => [{ file: irisBin, name: 'weights.bin' }], 'model', /no model JSON/],
    ['an archive entry that climbs out with ..', () => [{ file: encodeZip([{ name: '../model.json', data: irisJson }]), name: 'm.zip' }], 'file', /'\.\.' segment/],
  ] as [string, () => Part[], string, RegExp][])('%s', async (_label, parts, field, reason) => {
    const before = storedFiles().length;
    const rows = await tenantRows();
    const res = await upload(key, parts());
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('INVALID_MODEL');
    expect(res.json().errors).toEqual(expect.arrayContaining([{ field, reason: expect.stringMatching(reason) }]));
    expect(storedFiles().length).toBe(before);
    expect(await tenantRows()).toBe(rows);
  });

  it('an unknown zoo name is 422 naming zoo; a bad width or body is 400', async () => {
    const rows = await tenantRows();
    const unknown = await zoo(key, { zoo: 'resnet' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().errors).toEqual([{ field: 'zoo', reason: expect.stringMatching(/unknown zoo model 'resnet' \(expected mlp, cnn, ds-cnn\)/) }]);
    const width = await zoo(key, { zoo: 'cnn', width: 0 });
    expect(width.statusCode).toBe(400);
    expect(width.json().errors[0].field).toBe('body.width');
    const extra = await zoo(key, { zoo: 'cnn', epochs: 3 });
    expect(extra.statusCode).toBe(400);
    expect(await tenantRows()).toBe(rows);
  });

  it('over MAX_UPLOAD_BYTES → 413 with nothing kept; not multipart or JSON → 400 naming file', async () => {
    const small = await buildTestApp({ MAX_UPLOAD_BYTES: '2kb' });
    try {
      const res = await small.app.inject({ method: 'POST', url: '/v1/models', headers: auth(key), payload: form([{ file: irisJson, name: 'model.json' }, { file: irisBin, name: 'group1-shard1of1.bin' }]) });
      expect(res.statusCode, res.body).toBe(413);
      expect(res.json().code).toBe('PAYLOAD_TOO_LARGE');
      expect(readdirSync(small.config.dataDir, { recursive: true }).filter((p) => String(p).includes('models/'))).toEqual([]);
    } finally {
      await small.close();
    }
    const text = await t.app.inject({ method: 'POST', url: '/v1/models', headers: { ...auth(key), 'content-type': 'text/plain' }, payload: 'cnn' });
    expect(text.statusCode).toBe(400);
    expect(text.json().errors).toEqual([{ field: 'body.file', reason: expect.stringMatching(/multipart\/form-data/) }]);
  });
});

describe('GET, list, DELETE', () => {
  it('lists newest first with paging; another tenant gets 404; delete refused while a job uses it', async () => {
    const k = await createKey(uniqueName('pager'));
    const ids: string[] = [];
    for (const name of ['mlp', 'cnn', 'ds-cnn']) ids.push((await zoo(k, { zoo: name })).json().id);
    const p1 = (await t.app.inject({ method: 'GET', url: '/v1/models?page_size=2', headers: auth(k) })).json();
    expect(p1.items.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    const p2 = (await t.app.inject({ method: 'GET', url: `/v1/models?page_size=2&page_token=${p1.next_page_token}`, headers: auth(k) })).json();
    expect(p2).toMatchObject({ items: [{ id: ids[0] }], next_page_token: null });

    const got = await t.app.inject({ method: 'GET', url: `/v1/models/${ids[0]}`, headers: auth(k) });
    expect(got.json()).toEqual(p2.items[0]);
    for (const method of ['GET', 'DELETE'] as const) {
      expect((await t.app.inject({ method, url: `/v1/models/${ids[0]}`, headers: auth(otherKey) })).statusCode, method).toBe(404);
    }

    const model = (await upload(key, [{ file: kerasJson, name: 'keras.json' }])).json();
    const dataset = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(key), payload: form([{ file: 'a,b,label\n1,2,0\n3,4,1\n', name: 'tiny.csv' }]) });
    expect(dataset.statusCode, dataset.body).toBe(201);
    const job = await db.job.create({ data: { tenantId, modelId: model.id, datasetId: dataset.json().id, config: {}, status: 'QUEUED' } });
    const refused = await t.app.inject({ method: 'DELETE', url: `/v1/models/${model.id}`, headers: auth(key) });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'MODEL_IN_USE' });
    await db.job.delete({ where: { id: job.id } });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/models/${model.id}`, headers: auth(key) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}`, headers: auth(key) })).statusCode).toBe(404);
    expect(storedFiles().some((f) => f.includes(model.id))).toBe(false);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/models/${randomUUID()}`, headers: auth(key) })).statusCode).toBe(404);
  });
});

describe('the model inspector', () => {
  it('disposes of the model it builds: tf.memory().numTensors is unchanged, on success and on refusal', async () => {
    await useBackend('cpu');
    const store = new LocalDiskStore(tempDir());
    await store.put('models/m/model.json', irisJson);
    await store.put('models/m/group1-shard1of1.bin', irisBin);
    await store.put('models/bad/model.json', irisJson);
    await store.put('models/bad/group1-shard1of1.bin', irisBin.subarray(4));
    const inspector = new InProcessModelInspector(store);
    const good = { kind: 'files' as const, files: [{ key: 'models/m/model.json', name: 'model.json' }, { key: 'models/m/group1-shard1of1.bin', name: 'group1-shard1of1.bin' }] };
    await inspector.inspect(good, { maxParams: 1000 }); // warm-up: TF.js keeps a few tensors of its own
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) expect((await inspector.inspect(good, { maxParams: 1000 })).params).toBe(131);
    await expect(inspector.inspect({ kind: 'files', files: [{ key: 'models/bad/model.json', name: 'model.json' }, { key: 'models/bad/group1-shard1of1.bin', name: 'group1-shard1of1.bin' }] }, { maxParams: 1000 })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
    });
    await expect(inspector.inspect(good, { maxParams: 100 })).rejects.toMatchObject({ fields: [{ field: 'model', reason: expect.stringMatching(/131 parameters, over the limit of 100/) }] });
    expect(tf.memory().numTensors).toBe(before);
  });
});

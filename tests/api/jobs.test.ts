// /v1/jobs through real HTTP on the production app (real Postgres and Redis): submission with
// defaults echoed and Location, idempotent replays, validation, reads with transitions, paging,
// cancel/retry/delete, and tenant isolation.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { Prisma } from '../../src/db/generated/client.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';

let t: TestApp;
let db: Db;
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

/** A tenant with a key, a model and a dataset row (uploads are tested in their own suites). */
async function tenant() {
  const name = uniqueName('jobs-api');
  const key = await createKey(name);
  const { id: tenantId } = await db.tenant.findUniqueOrThrow({ where: { name } });
  const model = await db.model.create({ data: { tenantId, name: 'zoo:mlp', format: 'zoo', sha256: '0'.repeat(64), sizeBytes: 0n, params: 0n, layers: [], inputShape: [13], storageKey: 'models/x' } });
  const dataset = await db.dataset.create({
    data: { tenantId, name: 'wine.csv', format: 'csv', task: 'classification', sha256: '1'.repeat(64), sizeBytes: 10n, samples: 178, features: 13, classes: 3, storageKey: 'datasets/x' },
  });
  return { key, body: { model_id: model.id, dataset_id: dataset.id } };
}

beforeAll(async () => {
  t = await buildTestApp();
  db = createDb(TEST_DATABASE_URL, { poolSize: 2 });
});
afterAll(async () => {
  await db.$disconnect();
  await t.close();
});

describe('/v1/jobs', () => {
  it('POST queues a job: 202, Location, the config with defaults; GET shows it with its transitions', async () => {
    const { key, body } = await tenant();
    const res = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { ...body, config: { epochs: 1, weight_bits: 4 } } });
    expect(res.statusCode).toBe(202);
    const job = res.json();
    expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ status: 'QUEUED', attempt: 1, error: null, report: null, ...body });
    expect(job.config).toMatchObject({ epochs: 1, weight_bits: 4, qat_epochs: 2, batch_size: 128, per_channel: true });
    const got = await t.app.inject({ method: 'GET', url: res.headers.location as string, headers: auth(key) });
    expect(got.statusCode).toBe(200);
    expect(got.json().transitions).toEqual([{ from: null, to: 'QUEUED', phase: null, message: 'submitted', at: expect.any(String) }]);
  });

  it('Idempotency-Key: a replay returns the same job (marked replayed); another body with the key is 422', async () => {
    const { key, body } = await tenant();
    const send = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/jobs', headers: { ...auth(key), 'idempotency-key': 'nightly-42' }, payload });
    const first = await send({ ...body, config: { seed: 1 } });
    const again = await send({ ...body, config: { seed: 1 } });
    expect(again.statusCode).toBe(202);
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await send({ ...body, config: { seed: 2 } });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', errors: [{ field: 'Idempotency-Key' }] });
  });

  it('refuses bad requests with problem+json naming the field', async () => {
    const { key, body } = await tenant();
    const missing = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { model_id: body.model_id } });
    expect(missing.statusCode).toBe(400);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(missing.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: expect.stringMatching(/dataset_id/) })]));
    const config = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { ...body, config: { weight_bits: 1, colour: 'red' } } });
    expect(config.statusCode).toBe(422);
    expect(config.json().errors).toEqual(expect.arrayContaining([{ field: 'weight_bits', reason: 'must be >= 2, got 1' }, expect.objectContaining({ field: 'colour' })]));
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { ...body, dataset_id: '00000000-0000-4000-8000-000000000000' } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().errors).toEqual([{ field: 'dataset_id', reason: expect.stringMatching(/^no dataset/) }]);
  });

  it('lists newest first with page_size and an opaque page_token, filtered by status', async () => {
    const { key, body } = await tenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { ...body, config: { seed: i } } })).json().id);
    const page1 = (await t.app.inject({ method: 'GET', url: '/v1/jobs?page_size=2', headers: auth(key) })).json();
    expect(page1.items.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    const page2 = (await t.app.inject({ method: 'GET', url: `/v1/jobs?page_size=2&page_token=${page1.next_page_token}`, headers: auth(key) })).json();
    expect(page2).toMatchObject({ items: [expect.objectContaining({ id: ids[0] })], next_page_token: null });
    await t.app.inject({ method: 'POST', url: `/v1/jobs/${ids[1]}/cancel`, headers: auth(key) });
    const cancelledRes = await t.app.inject({ method: 'GET', url: '/v1/jobs?status=CANCELLED,FAILED', headers: auth(key) });
    expect(cancelledRes.statusCode, cancelledRes.body).toBe(200);
    const cancelled = cancelledRes.json();
    expect(cancelled.items.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs?page_size=101', headers: auth(key) })).statusCode).toBe(400);
  });

  it('cancel (202, then 409 once terminal), retry as attempt 2, delete only when terminal (204)', async () => {
    const { key, body } = await tenant();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: body })).json().id;
    const cancel = await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: auth(key) });
    expect([cancel.statusCode, cancel.json().status]).toEqual([202, 'CANCELLED']);
    expect((await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: auth(key) })).json()).toMatchObject({ status: 409, code: 'JOB_TERMINAL' });
    const retry = await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/retry`, headers: auth(key) });
    expect([retry.statusCode, retry.json().status, retry.json().attempt]).toEqual([202, 'QUEUED', 2]);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: auth(key) })).statusCode).toBe(409);
    await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: auth(key) });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: auth(key) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth(key) })).statusCode).toBe(404);
  });

  it("another tenant's job answers 404 on every route, and its jobs never appear in lists", async () => {
    const a = await tenant();
    const b = await tenant();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(a.key), payload: a.body })).json().id;
    for (const [method, url] of [
      ['GET', `/v1/jobs/${id}`],
      ['POST', `/v1/jobs/${id}/cancel`],
      ['POST', `/v1/jobs/${id}/retry`],
      ['DELETE', `/v1/jobs/${id}`],
    ] as const) {
      expect((await t.app.inject({ method, url, headers: auth(b.key) })).statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs', headers: auth(b.key) })).json().items).toEqual([]);
    // b cannot queue a job on a's model either.
    const cross = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(b.key), payload: { ...b.body, model_id: a.body.model_id } });
    expect(cross.statusCode).toBe(422);
  });
});

describe('POST /v1/jobs checks the model against the dataset before queueing', () => {
  const FIXTURES = new URL('../fixtures/', import.meta.url);
  const file = (p: string) => readFileSync(new URL(p, FIXTURES));
  function form(parts: ({ file: Uint8Array; name: string } | { field: string; value: string })[]): FormData {
    const f = new FormData();
    for (const p of parts) {
      if ('file' in p) f.append('file', new Blob([Buffer.from(p.file)]), p.name);
      else f.append(p.field, p.value);
    }
    return f;
  }

  /** A tenant with model and dataset rows as the uploads record them (`info` is the models.layers document). */
  async function rows(model: { format: string; name: string; inputShape: number[] | null; info: Record<string, unknown> }, dataset: { task: string; features: number; classes: number | null; sampleShape: number[] }) {
    const name = uniqueName('jobs-compat');
    const key = await createKey(name);
    const { id: tenantId } = await db.tenant.findUniqueOrThrow({ where: { name } });
    const info = { layers: [], output_shape: null, output_activation: null, has_weights: false, unsupported_layers: [], files: [], ...model.info };
    const m = await db.model.create({
      data: { tenantId, name: model.name, format: model.format, sha256: '0'.repeat(64), sizeBytes: 1n, params: 0n, layers: info, inputShape: model.inputShape ?? Prisma.JsonNull, storageKey: 'models/x/' },
    });
    const d = await db.dataset.create({
      data: {
        tenantId,
        name: 'data',
        format: 'npz',
        task: dataset.task,
        sha256: '1'.repeat(64),
        sizeBytes: 10n,
        samples: 100,
        features: dataset.features,
        classes: dataset.classes,
        options: { parse: {}, files: [], sample_shape: dataset.sampleShape, test_samples: null },
        storageKey: 'datasets/x/',
      },
    });
    return { key, body: { model_id: m.id, dataset_id: d.id } };
  }
  const zooModel = (zoo: string) => ({ format: 'zoo', name: `zoo:${zoo}`, inputShape: null, info: { output_activation: 'linear', zoo: { name: zoo, width: 1 } } });
  const imported = (inputShape: number[], out: number[], extra: Record<string, unknown> = {}) => ({
    format: 'tfjs-layers',
    name: 'sequential',
    inputShape,
    info: { output_shape: out, output_activation: 'softmax', has_weights: true, ...extra },
  });
  const images = (h: number, w: number) => ({ task: 'classification', features: h * w, classes: 10, sampleShape: [h, w, 1] });
  const submit = (key: string, payload: object) => t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload });
  const refusal = async (key: string, payload: object) => {
    const res = await submit(key, payload);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 422, code: 'MODEL_INCOMPATIBLE' });
    return res.json().errors as { field: string; reason: string }[];
  };

  it('a real upload: zoo:cnn on the wine CSV is 422 MODEL_INCOMPATIBLE naming model_id, and nothing is queued', async () => {
    const name = uniqueName('jobs-compat-upload');
    const key = await createKey(name);
    const ds = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(key), payload: form([{ file: file('sklearn/wine_data.csv'), name: 'wine.csv' }, { field: 'skip_rows', value: '1' }]) });
    expect(ds.statusCode, ds.body).toBe(201);
    const cnn = await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(key), payload: { zoo: 'cnn' } });
    const errors = await refusal(key, { model_id: cnn.json().id, dataset_id: ds.json().id });
    expect(errors).toEqual([{ field: 'model_id', reason: "zoo:cnn needs image samples [height, width, channels]; this dataset's samples are [13] (use zoo:mlp)" }]);
    const iris = await t.app.inject({
      method: 'POST',
      url: '/v1/models',
      headers: auth(key),
      payload: form([{ file: file('models/iris-keras2/model.json'), name: 'model.json' }, { file: file('models/iris-keras2/group1-shard1of1.bin'), name: 'group1-shard1of1.bin' }]),
    });
    expect(iris.statusCode, iris.body).toBe(201);
    expect(await refusal(key, { model_id: iris.json().id, dataset_id: ds.json().id })).toEqual([
      { field: 'model_id', reason: "the model takes samples of shape [4], but the dataset's samples have shape [13]" },
    ]);
    const { id: tenantId } = await db.tenant.findUniqueOrThrow({ where: { name } });
    expect(await db.job.count({ where: { tenantId } })).toBe(0);
    // The zoo mlp fits any sample shape.
    const mlp = await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(key), payload: { zoo: 'mlp' } });
    expect((await submit(key, { model_id: mlp.json().id, dataset_id: ds.json().id })).statusCode).toBe(202);
  });

  it('zoo:cnn on images too small for its two conv+pool stages; ds-cnn and mlp take them', async () => {
    const small = await rows(zooModel('cnn'), images(6, 6));
    expect(await refusal(small.key, small.body)).toEqual([{ field: 'model_id', reason: expect.stringMatching(/^zoo:cnn cannot take \[6, 6, 1\] inputs: its layer 'conv2' would have no outputs/) }]);
    const narrow = await rows(zooModel('cnn'), images(28, 9));
    expect((await refusal(narrow.key, narrow.body))[0]!.reason).toMatch(/'pool2' would have no outputs/);
    for (const ok of [await rows(zooModel('cnn'), images(10, 10)), await rows(zooModel('ds-cnn'), images(3, 3)), await rows(zooModel('mlp'), images(2, 2))]) {
      expect((await submit(ok.key, ok.body)).statusCode).toBe(202);
    }
  });

  it('an imported model: every mismatch at once (input shape, class count, head, layers that cannot be quantized)', async () => {
    const bad = await rows(
      imported([28, 28, 1], [10], { output_activation: 'sigmoid', unsupported_layers: [{ name: 'lstm', class_name: 'LSTM', reason: 'recurrent layers are not supported' }] }),
      { task: 'classification', features: 13, classes: 3, sampleShape: [13] },
    );
    expect(await refusal(bad.key, bad.body)).toEqual([
      { field: 'model_id', reason: "the model takes samples of shape [28, 28, 1], but the dataset's samples have shape [13]" },
      { field: 'model_id', reason: 'the model outputs 10 class scores, but the dataset has 3 classes' },
      { field: 'model_id', reason: "a classifier must end in logits (linear) or softmax, this model ends in 'sigmoid'" },
      { field: 'model_id', reason: 'layer lstm (LSTM) cannot be quantized: recurrent layers are not supported' },
    ]);
    const regression = await rows(imported([13], [3]), { task: 'regression', features: 13, classes: null, sampleShape: [13] });
    expect(await refusal(regression.key, regression.body)).toEqual([{ field: 'model_id', reason: 'a regression model must output 1 value per sample, this one outputs 3' }]);
    const fits = await rows(imported([13], [3]), { task: 'classification', features: 13, classes: 3, sampleShape: [13] });
    expect((await submit(fits.key, fits.body)).statusCode).toBe(202);
    // A task forced by the config changes the targets: the head is then left to the worker's check.
    expect((await submit(fits.key, { ...fits.body, config: { task: 'regression' } })).statusCode).toBe(202);
  });

  it('an Idempotency-Key replay answers with its job even if the check would now refuse; the check runs before a new job', async () => {
    const { key, body } = await rows(imported([13], [3]), { task: 'classification', features: 13, classes: 3, sampleShape: [13] });
    const headers = { ...auth(key), 'idempotency-key': 'compat-1' };
    const first = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers, payload: body });
    expect(first.statusCode).toBe(202);
    await db.model.update({ where: { id: body.model_id }, data: { inputShape: [4] } });
    const replay = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers, payload: body });
    expect([replay.statusCode, replay.json().id]).toEqual([202, first.json().id]);
    expect((await submit(key, body)).statusCode).toBe(422);
  });
});

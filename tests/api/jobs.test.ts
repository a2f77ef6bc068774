// /v1/jobs through real HTTP on the production app (real Postgres and Redis): submission with
// defaults echoed and Location, idempotent replays, validation, reads with transitions, paging,
// cancel/retry/delete, and tenant isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
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

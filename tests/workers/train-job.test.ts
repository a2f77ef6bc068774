// A QAT job from upload to result through real HTTP, Postgres, Redis and a worker process's queue
// consumer: the worker claims it, trains on the uploaded wine CSV, stores every artifact with its
// sha256, records per-epoch metrics and transitions; a long job is cancelled while it trains.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerTraining } from '../../src/cli/workerRuntime.js';
import { createDb, type Db } from '../../src/db/client.js';
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { type RunningWorker, startWorkerProcess } from '../../src/workers/workerProcess.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { useBackend } from '../support/backends.js';

const prefix = `qat-test-train-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let t: TestApp;
let db: Db;
let worker: RunningWorker;
let closeTraining: () => Promise<void>;
let key: string;
const auth = () => ({ authorization: `Bearer ${key}` });

async function waitFor(id: string, done: (job: { status: string }) => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
    if (done(job) || Date.now() > until) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  await useBackend('wasm'); // what `qat worker` selects here (tfjs-node is not installable offline)
  t = await buildTestApp({ QUEUE_PREFIX: prefix });
  key = await createKey(uniqueName('trainer'));
  db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
  const training = workerTraining(t.config, db, 'wasm', pino({ level: 'silent' }));
  closeTraining = training.close;
  worker = await startWorkerProcess(
    { redisUrl: TEST_REDIS_URL, queuePrefix: prefix, concurrency: 1, training: { backend: 'wasm', reason: 'test' }, pingDatabase: async () => undefined, closeDatabase: async () => undefined, trainer: training.trainer },
    pino({ level: 'silent' }),
  );
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await closeTraining?.();
  await t.close();
  const redis = createRedis(TEST_REDIS_URL, { role: 'producer' });
  await redis.connect();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await closeRedis(redis);
  await db.$disconnect();
});

async function uploadWineAndZoo(): Promise<{ dataset_id: string; model_id: string }> {
  const f = new FormData();
  f.append('file', new Blob([await readFile('tests/fixtures/sklearn/wine_data.csv')]), 'wine.csv');
  f.append('skip_rows', '1');
  const ds = await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(), payload: f });
  expect(ds.statusCode, ds.body).toBe(201);
  const model = await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(), payload: { zoo: 'mlp' } });
  expect(model.statusCode, model.body).toBe(201);
  return { dataset_id: ds.json().id, model_id: model.json().id };
}

describe('a QAT job run by a worker', () => {
  it('goes QUEUED → PREPARING → RUNNING → SUCCEEDED with the report, artifacts (sha256 as stored) and per-epoch metrics', async () => {
    const inputs = await uploadWineAndZoo();
    const submitted = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { ...inputs, config: { epochs: 25, qat_epochs: 2, batch_size: 16 } } });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const job = await waitFor(submitted.json().id, (j) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status), 90_000);
    expect(job.error).toBeNull();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.transitions.map((x: { to: string }) => x.to)).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED']);
    expect(job.report.dataset).toMatchObject({ name: 'wine.csv', classes: 3, sha256: createHash('sha256').update(await readFile('tests/fixtures/sklearn/wine_data.csv')).digest('hex') });
    expect(job.report.accuracy.float).toBeGreaterThan(0.85);
    expect(job.report.agreement.onnx_int8_vs_reference).toBe(1);
    const artifacts = await db.artifact.findMany({ where: { jobId: job.id } });
    expect(artifacts.map((a) => a.name).sort()).toEqual(['model-card.json', 'model.float.onnx', 'model.int8.onnx', 'qat-model/model.json', 'qat-model/weights.bin', 'report.json', 'tfjs-int8/group1-shard1of1.bin', 'tfjs-int8/model.json']);
    const store = new LocalDiskStore(t.config.dataDir);
    for (const a of artifacts) {
      const bytes = await store.read(a.storageKey);
      expect(createHash('sha256').update(bytes).digest('hex'), a.name).toBe(a.sha256);
    }
    const metrics = await db.metric.findMany({ where: { jobId: job.id, name: 'float.loss' }, orderBy: { epoch: 'asc' } });
    expect(metrics.map((m) => m.epoch)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(metrics[24]!.value).toBeLessThan(metrics[0]!.value);
  }, 120_000);

  it('a running job cancelled over HTTP stops within seconds and ends CANCELLED', async () => {
    const inputs = await uploadWineAndZoo();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { ...inputs, config: { epochs: 1000, batch_size: 4 } } })).json().id;
    const running = await waitFor(id, (j) => j.status === 'RUNNING', 30_000);
    expect(running.status).toBe('RUNNING');
    const cancel = await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: auth() });
    expect([cancel.statusCode, cancel.json().status]).toEqual([202, 'CANCELLING']);
    const started = Date.now();
    const job = await waitFor(id, (j) => j.status === 'CANCELLED', 15_000);
    expect(job.status).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(job.transitions.map((x: { to: string }) => x.to)).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING', 'CANCELLED']);
  }, 60_000);

  it('a model that does not fit the data fails the job with MODEL_INCOMPATIBLE, without retries', async () => {
    const { dataset_id } = await uploadWineAndZoo();
    const cnn = (await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(), payload: { zoo: 'cnn' } })).json();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { dataset_id, model_id: cnn.id } })).json().id;
    const job = await waitFor(id, (j) => j.status === 'FAILED', 30_000);
    expect(job).toMatchObject({ status: 'FAILED', attempt: 1, error: { code: 'MODEL_INCOMPATIBLE', message: expect.stringMatching(/zoo:cnn needs image samples/) } });
    expect(job.transitions.map((x: { to: string }) => x.to)).toEqual(['QUEUED', 'PREPARING', 'FAILED']);
  }, 60_000);
});


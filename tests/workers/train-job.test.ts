// A QAT job from upload to result through real HTTP, Postgres, Redis and a worker process's queue
// consumer: the worker claims it, trains it in a training process of its own on the uploaded wine CSV,
// stores every artifact with its sha256, records per-epoch metrics and transitions; a long job is
// cancelled while it trains (its training process gone); bad input fails once, without retries.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { useBackend } from '../support/backends.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const prefix = `qat-test-train-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let t: TestApp;
let db: Db;
let worker: TestWorker;
let key: string;
const auth = () => ({ authorization: `Bearer ${key}` });
/** The worker's log lines (info and up), to find the training processes it started. */
const logs: Record<string, unknown>[] = [];
const capture = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
const trainingPid = (jobId: string): number | undefined => logs.find((l) => l.msg === 'training process started' && l.job_id === jobId)?.child_pid as number | undefined;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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
  worker = await startTestWorker(t, prefix, { logger: capture });
  db = worker.db;
}, 60_000);

afterAll(async () => {
  await worker?.close();
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
    expect(artifacts.map((a) => a.name).sort()).toEqual(
      expect.arrayContaining(['model-card.json', 'model.float.onnx', 'model.int8.onnx', 'qat-model/model.json', 'qat-model/weights.bin', 'report.json', 'tfjs-int8/group1-shard1of1.bin', 'tfjs-int8/model.json']),
    );
    expect(artifacts.map((a) => a.name)).not.toContain('checkpoint.bin');
    const store = new LocalDiskStore(t.config.dataDir);
    for (const a of artifacts) {
      const bytes = await store.read(a.storageKey);
      expect(createHash('sha256').update(bytes).digest('hex'), a.name).toBe(a.sha256);
    }
    const metrics = await db.metric.findMany({ where: { jobId: job.id, name: 'float.loss' }, orderBy: { epoch: 'asc' } });
    expect(metrics.map((m) => m.epoch)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // The global step: 142 training rows in batches of 16 → 9 steps per epoch.
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 25 }, (_, i) => (i + 1) * 9));
    expect(metrics[24]!.value).toBeLessThan(metrics[0]!.value);

    // Downloads: the listed sha256 is the ETag and the bytes' hash; ranges, conditional requests, unknown names.
    const listed = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts`, headers: auth() })).json().items;
    const onnx = listed.find((a: { name: string }) => a.name === 'model.int8.onnx');
    const file = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: auth() });
    expect(file.statusCode).toBe(200);
    expect(file.headers).toMatchObject({ etag: `"${onnx.sha256}"`, 'content-length': String(onnx.size_bytes), 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' });
    expect(createHash('sha256').update(file.rawPayload).digest('hex')).toBe(onnx.sha256);
    const nested = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/tfjs-int8/model.json`, headers: auth() });
    expect([nested.statusCode, nested.headers['content-type']]).toEqual([200, 'application/json']);
    const part = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: { ...auth(), range: 'bytes=10-19' } });
    expect([part.statusCode, part.headers['content-range'], part.rawPayload.length]).toEqual([206, `bytes 10-19/${onnx.size_bytes}`, 10]);
    expect(part.rawPayload.equals(file.rawPayload.subarray(10, 20))).toBe(true);
    const tail = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: { ...auth(), range: 'bytes=-4' } });
    expect(tail.rawPayload.equals(file.rawPayload.subarray(-4))).toBe(true);
    const outside = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: { ...auth(), range: `bytes=${onnx.size_bytes}-` } });
    expect([outside.statusCode, outside.headers['content-range'], outside.json().code]).toEqual([416, `bytes */${onnx.size_bytes}`, 'RANGE_NOT_SATISFIABLE']);
    const cached = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: { ...auth(), 'if-none-match': `"${onnx.sha256}"` } });
    expect(cached.statusCode).toBe(304);
    expect((await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/nope.bin`, headers: auth() })).statusCode).toBe(404);
    const weak = await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/artifacts/model.int8.onnx`, headers: { ...auth(), 'if-none-match': `"other", W/"${onnx.sha256}"` } });
    expect(weak.statusCode).toBe(304);
    expect((await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/metrics/no.such.metric`, headers: auth() })).statusCode).toBe(404);

    // Metrics: names with their latest point, and a series paged oldest first.
    const names = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/metrics`, headers: auth() })).json().items;
    expect(names.find((m: { name: string }) => m.name === 'float.loss')).toMatchObject({ count: 25, latest: { epoch: 25, value: metrics[24]!.value } });
    const epochs: number[] = [];
    let token: string | null = null;
    do {
      const page: { items: { epoch: number }[]; next_page_token: string | null } = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/metrics/float.loss?page_size=10${token ? `&page_token=${token}` : ''}`, headers: auth() })).json();
      epochs.push(...page.items.map((p: { epoch: number }) => p.epoch));
      token = page.next_page_token;
    } while (token);
    expect(epochs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  }, 120_000);

  it('a running job cancelled over HTTP stops within seconds and ends CANCELLED', async () => {
    const inputs = await uploadWineAndZoo();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { ...inputs, config: { epochs: 1000, batch_size: 4 } } })).json().id;
    const running = await waitFor(id, (j) => j.status === 'RUNNING', 30_000);
    expect(running.status).toBe('RUNNING');
    const early = await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}/artifacts/report.json`, headers: auth() });
    expect([early.statusCode, early.json().code]).toEqual([409, 'ARTIFACT_NOT_READY']);
    const cancel = await t.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: auth() });
    expect([cancel.statusCode, cancel.json().status]).toEqual([202, 'CANCELLING']);
    const started = Date.now();
    const job = await waitFor(id, (j) => j.status === 'CANCELLED', 15_000);
    expect(job.status).toBe('CANCELLED');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(job.transitions.map((x: { to: string }) => x.to)).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'CANCELLING', 'CANCELLED']);
    // The job's training process ran apart from this (the worker's) process, and is gone once the job is CANCELLED.
    const pid = trainingPid(id);
    expect(pid).toBeTypeOf('number');
    expect(pid).not.toBe(process.pid);
    expect(alive(pid!)).toBe(false);
  }, 60_000);

  it('a dataset the worker cannot read fails the job once with INVALID_DATASET, without retries', async () => {
    const { dataset_id, model_id } = await uploadWineAndZoo();
    // The stored upload no longer parses (as if it had been replaced behind the service's back): only the worker can tell.
    const store = new LocalDiskStore(t.config.dataDir);
    const row = await db.dataset.findUniqueOrThrow({ where: { id: dataset_id } });
    const files = await store.list(row.storageKey.endsWith('/') ? row.storageKey : `${row.storageKey}/`);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) await store.put(file, new TextEncoder().encode('a,b,c\n1,2,x\n'));
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { dataset_id, model_id } })).json().id;
    const job = await waitFor(id, (j) => j.status === 'FAILED', 30_000);
    expect(job).toMatchObject({ status: 'FAILED', attempt: 1, error: { code: 'INVALID_DATASET' } });
    expect(job.transitions.map((x: { to: string }) => x.to)).toEqual(['QUEUED', 'PREPARING', 'FAILED']);
    // Not retried: no second attempt is queued or taken, even after a while.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'FAILED', attempt: 1, failedAttempts: 1 });
    expect(logs.filter((l) => l.job_id === id && l.msg === 'training process started')).toHaveLength(1);
  }, 60_000);
});


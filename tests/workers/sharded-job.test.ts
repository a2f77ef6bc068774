// A data-parallel job end to end: submitted over HTTP with `shards: 2`, coordinated by the training
// process of a worker, its rounds trained by the worker's shard consumer (one slot for two shards: the
// children queue), merged, and finished like any job — with per-shard metrics and shard positions in
// the job's progress while it trains.
import { readFile } from 'node:fs/promises';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { RunReportSchema } from '../../src/export/report/index.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { useBackend } from '../support/backends.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const prefix = `qat-test-sharded-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let t: TestApp;
let db: Db;
let worker: TestWorker;
let key: string;
const auth = () => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  await useBackend('wasm');
  t = await buildTestApp({ QUEUE_PREFIX: prefix });
  key = await createKey(uniqueName('sharded'));
  worker = await startTestWorker(t, prefix, { shards: true });
  db = worker.db;
}, 60_000);

afterAll(async () => {
  await worker?.close();
});

describe('a data-parallel job', () => {
  it('trains its shards in rounds through the shard queue and succeeds, with per-shard metrics and shard progress', async () => {
    const f = new FormData();
    f.append('file', new Blob([await readFile('tests/fixtures/sklearn/wine_data.csv')]), 'wine.csv');
    f.append('skip_rows', '1');
    const ds = (await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(), payload: f })).json();
    const model = (await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(), payload: { zoo: 'mlp' } })).json();
    const submitted = await t.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: auth(),
      payload: { dataset_id: ds.id, model_id: model.id, config: { epochs: 6, qat_epochs: 1, batch_size: 16, shards: 2, sync_every: 2 } },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    expect(submitted.json().config).toMatchObject({ shards: 2, sync_every: 2 });
    const id = submitted.json().id as string;

    let sawShards: unknown;
    const until = Date.now() + 150_000;
    let job: { status: string; progress: Record<string, unknown>; report: Record<string, any>; error: unknown } | undefined;
    for (;;) {
      job = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
      if (job!.progress.shards) sawShards ??= job!.progress.shards;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job!.status) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job!.error).toBeNull();
    expect(job!.status).toBe('SUCCEEDED');
    expect(sawShards).toEqual([
      expect.objectContaining({ shard: 0, epoch: expect.any(Number), batch_in_epoch: expect.any(Number), samples: expect.any(Number), loss: expect.any(Number) }),
      expect.objectContaining({ shard: 1, samples: expect.any(Number) }),
    ]);
    // A round is 2 steps of 8 samples per shard (7 in an epoch's last batch of 71 rows).
    for (const s of sawShards as { samples: number }[]) expect(s.samples).toBeGreaterThanOrEqual(7);
    expect(job!.report.config).toMatchObject({ shards: 2, sync_every: 2 });
    expect(job!.report.accuracy.float).toBeGreaterThan(0.8);
    expect([...Value.Errors(RunReportSchema, job!.report)]).toEqual([]);
    // What the rounds cost: 9 steps an epoch at sync_every 2 are 5 rounds (2, 2, 2, 2, 1); 6 + 1 epochs.
    const dp = job!.report.train.data_parallel;
    expect(dp).toMatchObject({ shards: 2, sync_every: 2, transport: 'bullmq', costs: { rounds: 35 } });
    expect(dp.costs.state_bytes).toBeGreaterThan(10_000);
    expect(dp.costs.train_seconds).toBeGreaterThan(0);
    expect(dp.costs.round_seconds).toBeGreaterThanOrEqual(dp.costs.train_seconds);
    expect(dp.costs.sync_seconds).toBeCloseTo(dp.costs.round_seconds - dp.costs.train_seconds, 2);
    expect(dp.costs.wait_seconds).toBeLessThanOrEqual(dp.costs.train_seconds);
    expect(dp.costs.merge_seconds).toBeLessThanOrEqual(dp.costs.sync_seconds);

    // 142 training rows → 2 shards of 71, batch 8 each → 9 steps per epoch: epoch metrics merged and per shard.
    const series = async (shard?: number) =>
      db.metric.findMany({ where: { jobId: id, name: 'float.loss', shard: shard ?? null }, orderBy: { epoch: 'asc' } });
    const merged = await series();
    expect(merged.map((m) => [m.epoch, m.step])).toEqual(Array.from({ length: 6 }, (_, i) => [i + 1, (i + 1) * 9]));
    for (const k of [0, 1]) expect((await series(k)).map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    const api = (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}/metrics/float.loss?page_size=100`, headers: auth() })).json();
    expect(new Set(api.items.map((p: { shard: number | null }) => p.shard))).toEqual(new Set([null, 0, 1]));

    // Round files are gone; the checkpoint too, once the job succeeded.
    expect(await new LocalDiskStore(t.config.dataDir).list(`jobs/${id}/rounds/`)).toEqual([]);
  }, 180_000);
});

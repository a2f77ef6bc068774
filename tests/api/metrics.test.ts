// GET /metrics against real Postgres and Redis: the Prometheus text parsed, the HTTP histogram
// labelled by route pattern, jobs by status matching rows inserted in a database of its own, the
// training throughput of running jobs, and queue depths of a queue under the test's prefix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { apiKeyRepository } from '../../src/db/apiKeyRepository.js';
import { closeRedis, createRedis, pingRedis } from '../../src/queue/connection.js';
import { QUEUE_NAMES } from '../../src/queue/names.js';
import { createQueue } from '../../src/queue/queues.js';
import { ApiKeyService } from '../../src/services/apiKeys.js';
import { buildTestApp, type TestApp, uniqueName } from '../support/app.js';
import { dropDatabase, scratchDatabaseUrl } from '../support/databases.js';
import { closedPort, TEST_REDIS_URL } from '../support/env.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample lines of the Prometheus text format (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = find(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]!.value;
};

async function scrape(t: TestApp): Promise<Sample[]> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.body);
}

const dbUrl = scratchDatabaseUrl();
const prefix = uniqueName('qat-metrics');
let t: TestApp;
let key: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await migrate(dbUrl);
  const db = createDb(dbUrl, { poolSize: 1 });
  cleanups.push(() => db.$disconnect());
  const tenant = await db.tenant.create({ data: { name: uniqueName('metrics') } });
  key = (await new ApiKeyService(apiKeyRepository(db)).createForTenantName(uniqueName('metrics-key'))).key;
  const model = await db.model.create({
    data: { tenantId: tenant.id, name: 'm', format: 'zoo', sha256: 'a'.repeat(64), sizeBytes: 1n, params: 1n, layers: [], inputShape: [4], storageKey: 'm' },
  });
  const dataset = await db.dataset.create({
    data: { tenantId: tenant.id, name: 'd', format: 'csv', task: 'classification', sha256: 'b'.repeat(64), sizeBytes: 1n, samples: 10, features: 4, classes: 3, storageKey: 'd' },
  });
  const job = (status: 'QUEUED' | 'RUNNING' | 'FAILED', progress: object = {}) => ({ tenantId: tenant.id, modelId: model.id, datasetId: dataset.id, status, config: {}, progress });
  await db.job.createMany({
    data: [
      job('QUEUED'),
      job('QUEUED'),
      job('RUNNING', { epoch: 2, step: 40, percent: 20, samples_per_s: 1500.5 }),
      job('RUNNING', { epoch: 1, step: 10, percent: 5, samples_per_s: 499.5 }),
      job('RUNNING', { epoch: 0, step: 0, percent: 0 }),
      job('RUNNING', { samples_per_s: 'fast' }),
      job('FAILED'),
    ],
  });

  const producer = createRedis(TEST_REDIS_URL, { role: 'producer' });
  await pingRedis(producer);
  const queue = createQueue(QUEUE_NAMES.train, { connection: producer, prefix });
  cleanups.push(async () => {
    await queue.close();
    const keys = await producer.keys(`${prefix}:*`);
    if (keys.length) await producer.del(...keys);
    await closeRedis(producer);
  });
  await queue.add('train', { jobId: 'waiting-1', attempt: 1 });
  await queue.add('train', { jobId: 'waiting-2', attempt: 1 });
  await queue.add('train', { jobId: 'later', attempt: 1 }, { delay: 3_600_000 });

  t = await buildTestApp({ DATABASE_URL: dbUrl, QUEUE_PREFIX: prefix });
  cleanups.push(() => t.close());
});

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await dropDatabase(dbUrl);
});

describe('GET /metrics', () => {
  it('serves default process metrics in the Prometheus text format', async () => {
    const samples = await scrape(t);
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(find(samples, 'process_resident_memory_bytes')).toHaveLength(1);
    expect(find(samples, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
  });

  it('observes request durations by method, route pattern and status code', async () => {
    const id = '0b5e7d9c-3f7a-4d4e-9a51-2a7c1e9f8b10';
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/no/such/route/${id}` })).statusCode).toBe(404);
    const samples = await scrape(t);

    const h = 'qat_http_request_duration_seconds';
    expect(value(samples, `${h}_count`, { method: 'GET', route: '/healthz', status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, `${h}_count`, { method: 'GET', route: '/v1/api-keys', status_code: '200' })).toBe(1);
    expect(value(samples, `${h}_count`, { method: 'DELETE', route: '/v1/api-keys/:id', status_code: '404' })).toBe(1);
    expect(value(samples, `${h}_count`, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(value(samples, `${h}_bucket`, { method: 'DELETE', route: '/v1/api-keys/:id', status_code: '404', le: '+Inf' })).toBe(1);
    expect(value(samples, `${h}_sum`, { method: 'DELETE', route: '/v1/api-keys/:id', status_code: '404' })).toBeGreaterThan(0);
    // No raw URL ever becomes a label value.
    expect(samples.some((s) => Object.values(s.labels).some((v) => v.includes(id)))).toBe(false);
  });

  it('counts jobs by status from Postgres', async () => {
    const samples = await scrape(t);
    expect(value(samples, 'qat_metrics_source_up', { source: 'postgres' })).toBe(1);
    const byStatus = Object.fromEntries(find(samples, 'qat_jobs').map((s) => [s.labels.status, s.value]));
    expect(byStatus).toEqual({ QUEUED: 2, PREPARING: 0, RUNNING: 4, CANCELLING: 0, SUCCEEDED: 0, FAILED: 1, CANCELLED: 0 });
  });

  it('sums the training throughput running jobs report in their progress', async () => {
    const samples = await scrape(t);
    expect(value(samples, 'qat_training_samples_per_second')).toBe(2000);
    expect(value(samples, 'qat_training_jobs_reporting_throughput')).toBe(2);
  });

  it('reports queue depths by state for every queue', async () => {
    const samples = await scrape(t);
    expect(value(samples, 'qat_metrics_source_up', { source: 'redis' })).toBe(1);
    const train = { queue: QUEUE_NAMES.train };
    expect(value(samples, 'qat_queue_jobs', { ...train, state: 'waiting' })).toBe(2);
    expect(value(samples, 'qat_queue_jobs', { ...train, state: 'delayed' })).toBe(1);
    expect(value(samples, 'qat_queue_jobs', { ...train, state: 'active' })).toBe(0);
    expect(value(samples, 'qat_queue_jobs', { ...train, state: 'failed' })).toBe(0);
    for (const name of Object.values(QUEUE_NAMES)) expect(find(samples, 'qat_queue_jobs', { queue: name }).length).toBeGreaterThan(0);
  });

  it('keeps one registry per app: another app has its own counts', async () => {
    const other = await buildTestApp({ QUEUE_PREFIX: uniqueName('qat-metrics-other') });
    try {
      const samples = await scrape(other);
      expect(find(samples, 'qat_http_request_duration_seconds_count', { route: '/v1/api-keys/:id' })).toEqual([]);
      expect(find(samples, 'qat_queue_jobs', { queue: QUEUE_NAMES.train, state: 'waiting' })[0]?.value).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('still answers when Redis is down: the queue gauges are left out and the source is marked down', async () => {
    const down = await buildTestApp({ DATABASE_URL: dbUrl, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    try {
      const samples = await scrape(down);
      expect(value(samples, 'qat_metrics_source_up', { source: 'redis' })).toBe(0);
      expect(value(samples, 'qat_metrics_source_up', { source: 'postgres' })).toBe(1);
      expect(find(samples, 'qat_queue_jobs')).toEqual([]);
      expect(value(samples, 'qat_jobs', { status: 'QUEUED' })).toBe(2);
    } finally {
      await down.close();
    }
  });

  it('is not served with METRICS_ENABLED=false, and is not part of the OpenAPI document', async () => {
    expect(Object.keys((t.app.swagger() as { paths: Record<string, unknown> }).paths)).not.toContain('/metrics');
    const off = await buildTestApp({ METRICS_ENABLED: 'false' });
    try {
      const res = await off.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    } finally {
      await off.close();
    }
  });
});

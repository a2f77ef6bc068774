// The job use cases on real Postgres and Redis: idempotent submission, the state machine under
// concurrent moves, keyset paging, cancel/retry/delete, tenant isolation, and what reaches the queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { jobRepository } from '../../src/db/jobRepository.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors/index.js';
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { QUEUE_NAMES } from '../../src/queue/names.js';
import { createQueue } from '../../src/queue/queues.js';
import { trainJobId, trainQueue, type TrainQueue } from '../../src/queue/trainQueue.js';
import { JobService } from '../../src/services/jobs.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, tempDir } from '../support/env.js';

let db: Db;
let redis: ReturnType<typeof createRedis>;
let queue: TrainQueue;
let service: JobService;
const prefix = `qat-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const notified: { tenantId: string; event: string; payload: Record<string, unknown> }[] = [];

async function tenantWithInputs() {
  const tenant = await db.tenant.create({ data: { name: uniqueName('jobs') } });
  const model = await db.model.create({
    data: { tenantId: tenant.id, name: 'zoo:mlp', format: 'zoo', sha256: '0'.repeat(64), sizeBytes: 0n, params: 0n, layers: [], inputShape: [13], storageKey: 'models/x' },
  });
  const dataset = await db.dataset.create({
    data: { tenantId: tenant.id, name: 'wine.csv', format: 'csv', task: 'classification', sha256: '1'.repeat(64), sizeBytes: 10n, samples: 178, features: 13, classes: 3, storageKey: 'datasets/x' },
  });
  return { tenantId: tenant.id, body: { model_id: model.id, dataset_id: dataset.id } };
}

beforeAll(async () => {
  db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
  redis = createRedis(TEST_REDIS_URL, { role: 'producer' });
  queue = trainQueue({ connection: redis, prefix });
  service = new JobService({
    jobs: jobRepository(db),
    queue,
    store: new LocalDiskStore(tempDir()),
    notifier: { emit: async (tenantId, event, payload) => void notified.push({ tenantId, event, payload }) },
  });
});
afterAll(async () => {
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await closeRedis(redis);
  await db.$disconnect();
});

const queued = async (jobId: string, attempt: number) => {
  const q = createQueue(QUEUE_NAMES.train, { connection: redis, prefix });
  try {
    const job = await q.getJob(trainJobId({ jobId, attempt }));
    return job ? { data: job.data, state: await job.getState() } : null;
  } finally {
    await q.close();
  }
};

describe('JobService', () => {
  it('submits a job with defaults filled in, records the transition and event, enqueues the attempt, notifies', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const { job, created } = await service.submit(tenantId, { ...body, config: { epochs: 1 } });
    expect(created).toBe(true);
    expect(job).toMatchObject({ status: 'QUEUED', attempt: 1, phase: null });
    expect(job.config).toMatchObject({ epochs: 1, qat_epochs: 2, weight_bits: 8 });
    const { transitions } = await service.get(tenantId, job.id);
    expect(transitions).toEqual([expect.objectContaining({ fromStatus: null, toStatus: 'QUEUED', message: 'submitted' })]);
    expect(await queued(job.id, 1)).toEqual({ data: { jobId: job.id, attempt: 1 }, state: 'waiting' });
    expect(notified).toContainEqual({ tenantId, event: 'job.queued', payload: { job_id: job.id, status: 'QUEUED', attempt: 1 } });
  });

  it('replays an Idempotency-Key with the same body (same job, one queue entry) and refuses it with another body', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const [a, b] = await Promise.all([service.submit(tenantId, { ...body, config: { seed: 3 } }, 'key-1'), service.submit(tenantId, { config: { seed: 3 }, ...body }, 'key-1')]);
    expect(a.job.id).toBe(b.job.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(await db.job.count({ where: { tenantId } })).toBe(1);
    await expect(service.submit(tenantId, { ...body, config: { seed: 4 } }, 'key-1')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', fields: [{ field: 'Idempotency-Key' }] });
    // Another tenant may use the same key for its own job.
    const other = await tenantWithInputs();
    expect((await service.submit(other.tenantId, other.body, 'key-1')).created).toBe(true);
  });

  it('names a missing model or dataset, and an invalid config, before creating anything', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const other = await tenantWithInputs();
    const err = await service.submit(tenantId, { model_id: other.body.model_id, dataset_id: body.dataset_id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fields).toEqual([{ field: 'model_id', reason: expect.stringMatching(/^no model /) }]);
    await expect(service.submit(tenantId, { ...body, config: { weight_bits: 12 } })).rejects.toMatchObject({ fields: [{ field: 'weight_bits', reason: 'must be <= 8, got 12' }] });
    expect(await db.job.count({ where: { tenantId } })).toBe(0);
  });

  it('pages newest first with an opaque token, filtered by status', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await service.submit(tenantId, { ...body, config: { seed: i } })).job.id);
    await service.cancel(tenantId, ids[0]!);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await service.list(tenantId, { page_size: 2, ...(token ? { page_token: token } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((j) => j.id));
      token = page.next_page_token ?? undefined;
    } while (token);
    expect(seen).toEqual([...ids].reverse());
    expect((await service.list(tenantId, { status: ['CANCELLED'] })).items.map((j) => j.id)).toEqual([ids[0]]);
    await expect(service.list(tenantId, { page_token: 'bm9wZQ' })).rejects.toMatchObject({ fields: [{ field: 'page_token' }] });
  });

  it('cancels a queued job at once (its queue entry removed), refuses terminal ones, retries as a new attempt, deletes terminal jobs only', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const { job } = await service.submit(tenantId, body);
    const cancelled = await service.cancel(tenantId, job.id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(await queued(job.id, 1)).toBeNull();
    expect((await service.get(tenantId, job.id)).transitions.map((t) => t.toStatus)).toEqual(['QUEUED', 'CANCELLING', 'CANCELLED']);
    await expect(service.cancel(tenantId, job.id)).rejects.toBeInstanceOf(ConflictError);
    const retried = await service.retry(tenantId, job.id);
    expect(retried).toMatchObject({ status: 'QUEUED', attempt: 2, errorCode: null, finishedAt: null });
    expect((await queued(job.id, 2))?.state).toBe('waiting');
    await expect(service.retry(tenantId, job.id)).rejects.toMatchObject({ code: 'JOB_NOT_RETRYABLE' });
    await expect(service.delete(tenantId, job.id)).rejects.toMatchObject({ code: 'JOB_NOT_TERMINAL' });
    await service.cancel(tenantId, job.id);
    await service.delete(tenantId, job.id);
    await expect(service.get(tenantId, job.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a running job moves to CANCELLING (its worker finishes the cancel); of two racing moves exactly one wins', async () => {
    const { tenantId, body } = await tenantWithInputs();
    const jobs = jobRepository(db);
    const { job } = await service.submit(tenantId, body);
    expect(await jobs.transition(job.id, { to: 'PREPARING', from: ['QUEUED'], workerId: 'w1' })).not.toBeNull();
    expect(await jobs.transition(job.id, { to: 'RUNNING', from: ['PREPARING'] })).not.toBeNull();
    const [done, cancel] = await Promise.all([
      jobs.transition(job.id, { to: 'SUCCEEDED', from: ['RUNNING'] }),
      jobs.transition(job.id, { to: 'CANCELLING', from: ['RUNNING', 'QUEUED', 'PREPARING'] }),
    ]);
    expect([done, cancel].filter(Boolean)).toHaveLength(1);
    const final = (await service.get(tenantId, job.id)).job;
    expect(['SUCCEEDED', 'CANCELLING']).toContain(final.status);
    expect(final.startedAt).not.toBeNull();
  });

  it("answers 404 for another tenant's job on every use case", async () => {
    const a = await tenantWithInputs();
    const b = await tenantWithInputs();
    const { job } = await service.submit(a.tenantId, a.body);
    for (const call of [() => service.get(b.tenantId, job.id), () => service.cancel(b.tenantId, job.id), () => service.retry(b.tenantId, job.id), () => service.delete(b.tenantId, job.id)]) {
      await expect(call()).rejects.toBeInstanceOf(NotFoundError);
    }
  });
});

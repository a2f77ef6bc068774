// The worker's use cases on real Postgres and Redis: the retry budget (failed and lost attempts count,
// hand-overs do not), the exponential backoff as a delayed queue entry, bad input failing at once, moves
// of a stale attempt refused, and a user retry starting afresh (no checkpoint, a full budget).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { datasetRepository } from '../../src/db/datasetRepository.js';
import { jobRepository } from '../../src/db/jobRepository.js';
import { modelRepository } from '../../src/db/modelRepository.js';
import { DependencyUnavailableError, ValidationError } from '../../src/errors/index.js';
import { closeRedis, createRedis } from '../../src/queue/connection.js';
import { QUEUE_NAMES } from '../../src/queue/names.js';
import { createQueue } from '../../src/queue/queues.js';
import { trainJobId, trainQueue, type TrainQueue } from '../../src/queue/trainQueue.js';
import { checkpointKey, classifyFailure, formatDelay, JobRunService, retryDelayMs, roundsPrefix } from '../../src/services/jobRuns.js';
import { JobService } from '../../src/services/jobs.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, tempDir } from '../support/env.js';

let db: Db;
let redis: ReturnType<typeof createRedis>;
let queue: TrainQueue;
let runs: JobRunService;
let jobs: JobService;
let store: LocalDiskStore;
const prefix = `qat-test-runs-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const notified: { event: string; payload: Record<string, unknown> }[] = [];
const policy = { maxAttempts: 3, backoffMs: 1000 };

beforeAll(async () => {
  db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
  redis = createRedis(TEST_REDIS_URL, { role: 'producer' });
  queue = trainQueue({ connection: redis, prefix });
  store = new LocalDiskStore(tempDir());
  const notifier = { emit: async (_tenantId: string, event: string, payload: Record<string, unknown>) => void notified.push({ event, payload }) };
  runs = new JobRunService({ jobs: jobRepository(db), datasets: datasetRepository(db), models: modelRepository(db), queue, notifier, store });
  jobs = new JobService({ jobs: jobRepository(db), queue, store, notifier });
});
afterAll(async () => {
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await closeRedis(redis);
  await db.$disconnect();
});

/** A submitted job, claimed and started by worker `w1` as attempt 1. */
async function runningJob(): Promise<{ id: string; tenantId: string }> {
  const tenant = await db.tenant.create({ data: { name: uniqueName('runs') } });
  const model = await db.model.create({
    data: { tenantId: tenant.id, name: 'zoo:mlp', format: 'zoo', sha256: '0'.repeat(64), sizeBytes: 0n, params: 0n, layers: [], inputShape: [13], storageKey: 'models/x' },
  });
  const dataset = await db.dataset.create({
    data: { tenantId: tenant.id, name: 'wine.csv', format: 'csv', task: 'classification', sha256: '1'.repeat(64), sizeBytes: 10n, samples: 178, features: 13, classes: 3, storageKey: 'datasets/x' },
  });
  const { job } = await jobs.submit(tenant.id, { model_id: model.id, dataset_id: dataset.id, config: { epochs: 1 } });
  expect(await runs.claim(job.id, 1, 'w1')).toMatchObject({ status: 'PREPARING', workerId: 'w1' });
  expect(await runs.start(job.id, { attempt: 1 })).toBe(true);
  return { id: job.id, tenantId: tenant.id };
}

const row = (id: string) => db.job.findUniqueOrThrow({ where: { id } });

async function queued(jobId: string, attempt: number) {
  const q = createQueue(QUEUE_NAMES.train, { connection: redis, prefix });
  try {
    const job = await q.getJob(trainJobId({ jobId, attempt }));
    return job ? { state: await job.getState(), delay: job.opts.delay ?? 0 } : null;
  } finally {
    await q.close();
  }
}

describe('JobRunService', () => {
  it('retries an infrastructure failure as the next attempt after a doubling backoff, and fails with its code after JOB_MAX_ATTEMPTS failures', async () => {
    const { id } = await runningJob();
    const crash = { code: 'WORKER_CRASHED', message: 'the training process was killed by SIGKILL', retryable: true };

    expect(await runs.attemptFailed(id, 1, crash, policy)).toEqual({ outcome: 'retrying', attempt: 2, delayMs: 1000 });
    expect(await row(id)).toMatchObject({ status: 'QUEUED', attempt: 2, failedAttempts: 1, workerId: null, phase: null, errorCode: null });
    expect(await queued(id, 2)).toEqual({ state: 'delayed', delay: 1000 });
    const transitions = await jobRepository(db).transitions(id);
    expect(transitions.at(-1)).toMatchObject({
      fromStatus: 'RUNNING',
      toStatus: 'QUEUED',
      message: 'WORKER_CRASHED: the training process was killed by SIGKILL; retrying as attempt 2 in 1 s (1 of 3 attempts failed)',
    });

    expect(await runs.claim(id, 2, 'w2')).not.toBeNull();
    expect(await runs.attemptFailed(id, 2, crash, policy)).toEqual({ outcome: 'retrying', attempt: 3, delayMs: 2000 });
    expect(await queued(id, 3)).toEqual({ state: 'delayed', delay: 2000 });

    expect(await runs.claim(id, 3, 'w3')).not.toBeNull();
    expect(await runs.start(id, { attempt: 3 })).toBe(true);
    const last = await runs.attemptFailed(id, 3, crash, policy);
    expect(last).toEqual({ outcome: 'failed', code: 'WORKER_CRASHED', message: 'the training process was killed by SIGKILL (gave up after 3 failed attempts)' });
    expect(await row(id)).toMatchObject({ status: 'FAILED', attempt: 3, failedAttempts: 3, errorCode: 'WORKER_CRASHED' });
    expect(await queued(id, 4)).toBeNull();
    expect(notified).toContainEqual({ event: 'job.failed', payload: expect.objectContaining({ job_id: id, error: { code: 'WORKER_CRASHED', message: last.outcome === 'failed' ? last.message : '' } }) });
  });

  it('fails bad input at once, whatever the budget, and queues nothing', async () => {
    const { id } = await runningJob();
    await runs.fail(id, { code: 'MODEL_INCOMPATIBLE', message: 'zoo:cnn needs image samples' }, 1);
    expect(await row(id)).toMatchObject({ status: 'FAILED', attempt: 1, failedAttempts: 1, errorCode: 'MODEL_INCOMPATIBLE' });
    expect(await queued(id, 2)).toBeNull();
    // A non-retryable failure given to attemptFailed fails at once too.
    const other = await runningJob();
    expect(await runs.attemptFailed(other.id, 1, { code: 'INVALID_DATASET', message: 'row 3: not a number', retryable: false }, policy)).toMatchObject({ outcome: 'failed', code: 'INVALID_DATASET' });
  });

  it('hands a job over as the next attempt at once, without spending the retry budget', async () => {
    const { id } = await runningJob();
    expect(await runs.handOver(id, 1, 'w1', { resumeFrom: 'TRAINING_FLOAT epoch 2, step 20' })).toEqual({ outcome: 'requeued', attempt: 2 });
    expect(await row(id)).toMatchObject({ status: 'QUEUED', attempt: 2, failedAttempts: 0, workerId: null });
    expect(await queued(id, 2)).toEqual({ state: 'waiting', delay: 0 });
    expect((await jobRepository(db).transitions(id)).at(-1)?.message).toBe('handed over by worker w1 at shutdown; continues as attempt 2 from its checkpoint at TRAINING_FLOAT epoch 2, step 20');
    // Many hand-overs still leave the whole budget: a later failure is retried.
    for (let attempt = 2; attempt <= 4; attempt++) {
      expect(await runs.claim(id, attempt, 'w')).not.toBeNull();
      expect((await runs.handOver(id, attempt, 'w')).outcome).toBe('requeued');
    }
    expect(await runs.claim(id, 5, 'w')).not.toBeNull();
    expect(await runs.attemptFailed(id, 5, { code: 'INTERNAL', message: 'internal error: EIO', retryable: true }, { ...policy, maxAttempts: 2 })).toMatchObject({ outcome: 'retrying', attempt: 6 });
  });

  it('ends a job being cancelled CANCELLED instead of handing it over or retrying it', async () => {
    const a = await runningJob();
    expect(await runs.heartbeat(a.id, 'w1', 1)).toBe('held');
    await jobs.cancel(a.tenantId, a.id);
    expect(await runs.heartbeat(a.id, 'w1', 1)).toBe('cancelling');
    expect(await runs.handOver(a.id, 1, 'w1')).toEqual({ outcome: 'cancelled' });
    expect(await row(a.id)).toMatchObject({ status: 'CANCELLED', attempt: 1 });
    const b = await runningJob();
    await jobs.cancel(b.tenantId, b.id);
    expect(await runs.attemptFailed(b.id, 1, { code: 'WORKER_CRASHED', message: 'x', retryable: true }, policy)).toEqual({ outcome: 'cancelled' });
    expect(await row(b.id)).toMatchObject({ status: 'CANCELLED', failedAttempts: 0 });
  });

  it('refuses every move of an attempt that no longer holds the job (heartbeat, start, succeed, fail, hand-over)', async () => {
    const { id } = await runningJob();
    const beatAt = (await row(id)).heartbeatAt!.getTime();
    expect(await runs.heartbeat(id, 'w1', 1)).toBe('held');
    expect((await row(id)).heartbeatAt!.getTime()).toBeGreaterThanOrEqual(beatAt);
    await runs.handOver(id, 1, 'w1');
    expect(await runs.claim(id, 2, 'w2')).not.toBeNull();
    expect(await runs.heartbeat(id, 'w1', 1)).toBe('taken-over');
    expect(await row(id)).toMatchObject({ workerId: 'w2' }); // the stale beat changed nothing
    expect(await runs.start(id, { attempt: 1 })).toBe(false);
    expect(await runs.handOver(id, 1, 'w1')).toEqual({ outcome: 'gone' });
    expect(await runs.attemptFailed(id, 1, { code: 'WORKER_CRASHED', message: 'x', retryable: true }, policy)).toEqual({ outcome: 'gone' });
    await runs.fail(id, { code: 'INTERNAL', message: 'x' }, 1);
    expect(await row(id)).toMatchObject({ status: 'PREPARING', attempt: 2, workerId: 'w2', failedAttempts: 0 });
    expect(await runs.inputs(id, 1)).toBeNull();
    expect((await runs.inputs(id, 2))?.dataset.name).toBe('wine.csv');
    expect(await runs.start(id, { attempt: 2, message: 'resumed from checkpoint: TRAINING_FLOAT epoch 1, step 9' })).toBe(true);
    expect(await runs.succeed(id, { ok: true }, 1)).toBe(false);
    expect(await runs.succeed(id, { ok: true }, 2)).toBe(true);
    expect(await runs.heartbeat(id, 'w2', 2)).toBe('finished');
    expect((await jobRepository(db).transitions(id)).map((t) => t.message)).toContain('resumed from checkpoint: TRAINING_FLOAT epoch 1, step 9');
  });

  it('reaps silent attempts as failed ones: requeued after the backoff, then WORKER_LOST once the budget is spent', async () => {
    const { id } = await runningJob();
    await db.job.update({ where: { id }, data: { heartbeatAt: new Date(Date.now() - 60_000), failedAttempts: 1 } });
    const first = await runs.reapStale({ timeoutMs: 30_000, ...policy });
    expect(first.requeued).toContain(id);
    expect(await row(id)).toMatchObject({ status: 'QUEUED', attempt: 2, failedAttempts: 2 });
    expect(await queued(id, 2)).toEqual({ state: 'delayed', delay: 2000 });
    expect((await jobRepository(db).transitions(id)).at(-1)?.message).toMatch(/^WORKER_LOST: no heartbeat from worker w1 for over 30 s; retrying as attempt 2 in 2 s \(2 of 3 attempts failed\)$/);

    expect(await runs.claim(id, 2, 'w2')).not.toBeNull();
    await db.job.update({ where: { id }, data: { heartbeatAt: new Date(Date.now() - 60_000) } });
    const second = await runs.reapStale({ timeoutMs: 30_000, ...policy });
    expect(second.failed).toContain(id);
    expect(await row(id)).toMatchObject({ status: 'FAILED', attempt: 2, failedAttempts: 3, errorCode: 'WORKER_LOST', errorMessage: 'no heartbeat from worker w2 for over 30 s (gave up after 3 failed attempts)' });
  });

  it("with a worker-id prefix, reaps only its own queues' workers (a deployment sharing the database keeps its jobs)", async () => {
    const { id } = await runningJob(); // claimed by worker 'w1': not of this prefix
    await db.job.update({ where: { id }, data: { heartbeatAt: new Date(Date.now() - 60_000) } });
    const other = await runs.reapStale({ timeoutMs: 30_000, workerIdPrefix: `${prefix}/`, ...policy });
    expect([...other.requeued, ...other.failed, ...other.cancelled]).not.toContain(id);
    expect(await row(id)).toMatchObject({ status: 'RUNNING', attempt: 1 });
    await db.job.update({ where: { id }, data: { workerId: `${prefix}/host-1-abc` } });
    const own = await runs.reapStale({ timeoutMs: 30_000, workerIdPrefix: `${prefix}/`, ...policy });
    expect(own.requeued).toContain(id);
  });

  it('removes the data-parallel round files an ended job left in flight (failed for good, or cancelled), not those of one retrying', async () => {
    const roundFile = (id: string) => `${roundsPrefix(id)}a1-float-r7/merged.bin`;
    const retrying = await runningJob();
    await store.put(roundFile(retrying.id), new Uint8Array([1]));
    expect(await runs.attemptFailed(retrying.id, 1, { code: 'WORKER_CRASHED', message: 'x', retryable: true }, policy)).toMatchObject({ outcome: 'retrying' });
    expect(await store.size(roundFile(retrying.id))).toBe(1); // the next attempt may already be writing its own

    const failed = await runningJob();
    await store.put(roundFile(failed.id), new Uint8Array([1]));
    await runs.fail(failed.id, { code: 'INVALID_DATASET', message: 'x' }, 1);
    expect(await store.list(roundsPrefix(failed.id))).toEqual([]);

    const cancelled = await runningJob();
    await store.put(roundFile(cancelled.id), new Uint8Array([1]));
    await jobs.cancel(cancelled.tenantId, cancelled.id);
    expect(await runs.cancelled(cancelled.id, 1)).toBe(true);
    expect(await store.list(roundsPrefix(cancelled.id))).toEqual([]);
  });

  it('a user retry starts afresh: the checkpoint is removed and the budget is whole again', async () => {
    const { id, tenantId } = await runningJob();
    await store.put(checkpointKey(id), new Uint8Array([1, 2, 3]));
    await store.put(`jobs/${id}/report.json`, new TextEncoder().encode('{}'));
    expect(await runs.attemptFailed(id, 1, { code: 'WORKER_CRASHED', message: 'x', retryable: true }, { ...policy, maxAttempts: 1 })).toMatchObject({ outcome: 'failed' });
    expect(await row(id)).toMatchObject({ status: 'FAILED', failedAttempts: 1 });
    const retried = await jobs.retry(tenantId, id);
    expect(retried).toMatchObject({ status: 'QUEUED', attempt: 2, failedAttempts: 0, errorCode: null });
    expect(await store.size(checkpointKey(id))).toBeNull();
    expect(await store.size(`jobs/${id}/report.json`)).toBe(2); // other files of the job stay until replaced
    expect(await queued(id, 2)).toEqual({ state: 'waiting', delay: 0 });
  });
});

describe('retry policy', () => {
  it('doubles the delay per failure up to the cap (10 min by default, never below the base)', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, { backoffMs: 5000 }))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(20, { backoffMs: 5000 })).toBe(600_000);
    expect(retryDelayMs(3, { backoffMs: 5000, maxBackoffMs: 12_000 })).toBe(12_000);
    expect(retryDelayMs(2, { backoffMs: 900_000 })).toBe(900_000);
    expect([500, 1000, 1500, 45_000, 90_000].map(formatDelay)).toEqual(['0.5 s', '1 s', '1.5 s', '45 s', '1.5 min']);
  });

  it('retries unavailable dependencies and unexpected errors; not bad input', () => {
    expect(classifyFailure(new DependencyUnavailableError('postgres', 'connection refused'))).toEqual({ code: 'DEPENDENCY_UNAVAILABLE', message: 'postgres: connection refused', retryable: true });
    expect(classifyFailure(new ValidationError([{ field: 'x', reason: 'bad' }], undefined, 'INVALID_DATASET'))).toMatchObject({ code: 'INVALID_DATASET', retryable: false });
    expect(classifyFailure(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }))).toEqual({ code: 'INTERNAL', message: 'internal error: ENOSPC: no space left on device', retryable: true });
  });
});

// Jobs outlive their training processes and workers — real `qat worker` processes, Postgres, Redis and
// the blob store: a worker stopped with SIGTERM hands its running job over (checkpoint, back to the queue)
// and another worker finishes it from the checkpoint with the result an undisturbed run gives; a training
// process killed with SIGKILL is an infrastructure failure, retried after the backoff from the checkpoint;
// a data-parallel job whose coordinator is killed resumes at its last completed round.
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { checkpointKey } from '../../src/services/jobRuns.js';
import { LocalDiskStore } from '../../src/storage/localDiskStore.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { type QatProcess, startQat } from '../support/process.js';
import { dropQueueKeys } from '../support/queues.js';

const prefix = `qat-test-recovery-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let t: TestApp;
let db: Db;
let key: string;
let inputs: { dataset_id: string; model_id: string };
const procs: QatProcess[] = [];
const auth = () => ({ authorization: `Bearer ${key}` });

interface JobView {
  id: string;
  status: string;
  attempt: number;
  progress: { phase?: string; epoch?: number; step?: number; round?: number };
  error: { code: string; message: string } | null;
  transitions: { from: string | null; to: string; message: string | null; at: string }[];
  report: { accuracy: Record<string, number>; train: { float: { history: { loss: number }[] }; qat: { history: { loss: number }[] } } } | null;
}

beforeAll(async () => {
  t = await buildTestApp({ QUEUE_PREFIX: prefix });
  key = await createKey(uniqueName('recovery'));
  db = createDb(TEST_DATABASE_URL, { poolSize: 2 });
  const f = new FormData();
  f.append('file', new Blob([await readFile('tests/fixtures/sklearn/wine_data.csv')]), 'wine.csv');
  f.append('skip_rows', '1');
  const dataset = (await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(), payload: f })).json();
  const model = (await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(), payload: { zoo: 'mlp' } })).json();
  inputs = { dataset_id: dataset.id, model_id: model.id };
});
const killAll = async () => {
  for (const p of procs.splice(0)) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
};
afterEach(killAll);
afterAll(async () => {
  await killAll();
  await t.close();
  await db.$disconnect();
  await dropQueueKeys(prefix);
});

const worker = (env: Record<string, string> = {}) => {
  const p = startQat(['worker'], {
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    DATA_DIR: t.config.dataDir,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    // Nothing here relies on the reaper: keep it off other test files' jobs (they share the database).
    JOB_HEARTBEAT_TIMEOUT_MS: '600000',
    ...env,
  });
  procs.push(p);
  return p;
};

const submit = async (config: Record<string, unknown>): Promise<string> => {
  const r = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { ...inputs, config } });
  expect(r.statusCode, r.body).toBe(202);
  return r.json().id;
};

const job = async (id: string): Promise<JobView> => (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();

async function until(id: string, ok: (j: JobView) => boolean, timeoutMs: number): Promise<JobView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (ok(j) || Date.now() > end) return j;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const finished = (j: JobView) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.status);
const inFloatTraining = (minEpoch: number) => (j: JobView) => finished(j) || (j.progress.phase === 'TRAINING_FLOAT' && (j.progress.epoch ?? 0) >= minEpoch);

/** The float loss series as recorded: one point per epoch, none twice. */
const floatEpochs = async (id: string, where: { shard?: null } = {}) =>
  (await db.metric.findMany({ where: { jobId: id, name: 'float.loss', ...where }, orderBy: { epoch: 'asc' } })).map((m) => m.epoch);

describe('job recovery', () => {
  it('SIGTERM: the worker hands its running job over; another worker resumes it from the checkpoint and it ends as an undisturbed run would', async () => {
    // JOB_MAX_ATTEMPTS=1: a hand-over must not spend the failure budget.
    const env = { JOB_MAX_ATTEMPTS: '1', JOB_SHUTDOWN_GRACE_MS: '30000' };
    const workers = [worker(env), worker(env)];
    const ids = await Promise.all(workers.map(async (w) => (await w.waitForLog(/^worker ready$/, 60_000)).worker_id as string));
    const config = { epochs: 100, qat_epochs: 2, batch_size: 16, seed: 11 };
    const id = await submit(config);
    const training = await until(id, inFloatTraining(3), 60_000);
    expect(training, JSON.stringify(training.error)).toMatchObject({ status: 'RUNNING', progress: { phase: 'TRAINING_FLOAT' } });
    // Stop the worker that holds it; the other one takes it over.
    const holder = training.transitions[1]!.message!.replace(/^worker /, '');
    const firstId = holder;
    const first = workers[ids.indexOf(holder)]!;
    const second = workers[1 - ids.indexOf(holder)]!;
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const handedOver = await first.waitForLog(/^job handed over$/);
    expect(handedOver).toMatchObject({ job_id: id, outcome: 'requeued', next_attempt: 2 });

    const done = await until(id, finished, 120_000);
    expect(done, JSON.stringify(done.transitions)).toMatchObject({ status: 'SUCCEEDED', attempt: 2, error: null });
    expect(done.transitions.map((x) => x.to)).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED']);
    const handover = /^handed over by worker (\S+) at shutdown; continues as attempt 2 from its checkpoint at TRAINING_FLOAT epoch (\d+), step (\d+)$/.exec(done.transitions[3]!.message ?? '');
    expect(handover, done.transitions[3]!.message ?? '').not.toBeNull();
    expect(handover![1]).toBe(firstId);
    const resumed = /^resumed from checkpoint: TRAINING_FLOAT epoch (\d+), step (\d+)$/.exec(done.transitions[5]!.message ?? '');
    expect(resumed, done.transitions[5]!.message ?? '').not.toBeNull();
    expect([resumed![1], resumed![2]]).toEqual([handover![2], handover![3]]);
    expect(Number(resumed![1])).toBeGreaterThan(0);
    expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({ attempt: 2, failedAttempts: 0 });
    expect(second.output()).toContain('"msg":"resumed from checkpoint"');
    // Every epoch's metrics once (the resumed epoch was recorded by the second attempt only), and the
    // checkpoint is gone with the job done.
    expect(await floatEpochs(id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await new LocalDiskStore(t.config.dataDir).size(checkpointKey(id))).toBeNull();

    // The same job undisturbed gives the same model: same accuracies and training history.
    const plain = await until(await submit(config), finished, 120_000);
    expect(plain.status, second.output().slice(-4000)).toBe('SUCCEEDED');
    const resumedReport = done.report!;
    const plainReport = plain.report!;
    expect(Object.keys(resumedReport.accuracy).sort()).toEqual(Object.keys(plainReport.accuracy).sort());
    for (const [variant, accuracy] of Object.entries(plainReport.accuracy)) expect(resumedReport.accuracy[variant], variant).toBeCloseTo(accuracy, 6);
    for (const phase of ['float', 'qat'] as const) {
      const a = resumedReport.train[phase].history.map((h) => h.loss);
      const b = plainReport.train[phase].history.map((h) => h.loss);
      expect(a.length, phase).toBe(b.length);
      a.forEach((loss, i) => expect(loss, `${phase} epoch ${i + 1}`).toBeCloseTo(b[i]!, 6));
    }
  }, 300_000);

  it('SIGKILL of the training process: the job is retried after the backoff as attempt 2, from the checkpoint, and succeeds', async () => {
    const id = await submit({ epochs: 40, qat_epochs: 1, batch_size: 16, seed: 5 });
    const w = worker({ JOB_RETRY_BACKOFF_MS: '2000' });
    await w.waitForLog(/^worker ready$/, 60_000);
    const started = await w.waitForLog(/^training process started$/, 60_000);
    expect(started).toMatchObject({ job_id: id, attempt: 1, child_pid: expect.any(Number) });
    const childPid = started.child_pid as number;
    expect(childPid).not.toBe(w.child.pid);
    const training = await until(id, inFloatTraining(3), 60_000);
    expect(training.status, JSON.stringify(training.transitions.at(-1))).toBe('RUNNING');
    process.kill(childPid, 'SIGKILL');

    const done = await until(id, finished, 120_000);
    expect(done, JSON.stringify(done.transitions)).toMatchObject({ status: 'SUCCEEDED', attempt: 2, error: null });
    expect(done.transitions.map((x) => x.to)).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED']);
    expect(done.transitions[3]!.message).toMatch(/^WORKER_CRASHED: the training process was killed by SIGKILL .*; retrying as attempt 2 in 2 s \(1 of 3 attempts failed\)$/);
    // The backoff: the next attempt was not taken before the delay.
    expect(Date.parse(done.transitions[4]!.at) - Date.parse(done.transitions[3]!.at)).toBeGreaterThanOrEqual(1900);
    expect(done.transitions[5]!.message).toMatch(/^resumed from checkpoint: TRAINING_FLOAT epoch [1-9]\d*, step \d+$/);
    expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({ attempt: 2, failedAttempts: 1 });
    expect(await floatEpochs(id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(() => process.kill(childPid, 0)).toThrow(/ESRCH/);
  }, 240_000);

  it('SIGKILL of a data-parallel job\'s coordinator: retried, it resumes at its last completed round and ends as an undisturbed run would', async () => {
    const config = { epochs: 12, qat_epochs: 1, batch_size: 16, seed: 7, shards: 2, sync_every: 2 };
    const id = await submit(config);
    // One worker: its training process coordinates, its shard consumer trains both shards in turn.
    const w = worker({ JOB_RETRY_BACKOFF_MS: '1000' });
    await w.waitForLog(/^worker ready$/, 60_000);
    const started = await w.waitForLog(/^training process started$/, 60_000);
    const training = await until(id, (j) => finished(j) || (j.progress.phase === 'TRAINING_FLOAT' && (j.progress.round ?? 0) >= 6), 120_000);
    expect(training.status, JSON.stringify(training.transitions.at(-1))).toBe('RUNNING');
    process.kill(started.child_pid as number, 'SIGKILL');

    const done = await until(id, finished, 180_000);
    expect(done, JSON.stringify(done.transitions)).toMatchObject({ status: 'SUCCEEDED', attempt: 2, error: null });
    expect(done.transitions[3]!.message).toMatch(/^WORKER_CRASHED: the training process was killed by SIGKILL/);
    const resumed = /^resumed from checkpoint: TRAINING_FLOAT epoch \d+, step (\d+), round (\d+)$/.exec(done.transitions[5]!.message ?? '');
    expect(resumed, done.transitions[5]!.message ?? '').not.toBeNull();
    // Every round is a checkpoint: at most the round in flight is trained again.
    expect(Number(resumed![2])).toBeGreaterThanOrEqual(training.progress.round! - 1);
    // Rounds end at epoch ends: a round is sync_every steps or the rest of its epoch.
    expect(Number(resumed![1])).toBeLessThanOrEqual(Number(resumed![2]) * config.sync_every);
    // The merged metrics: every epoch once.
    expect(await floatEpochs(id, { shard: null })).toEqual(Array.from({ length: config.epochs }, (_, i) => i + 1));
    // The killed attempt's round in flight left no files behind once the job finished.
    expect(await new LocalDiskStore(t.config.dataDir).list(`jobs/${id}/rounds/`)).toEqual([]);

    const plain = await until(await submit(config), finished, 180_000);
    expect(plain.status, w.output().slice(-4000)).toBe('SUCCEEDED');
    for (const [variant, accuracy] of Object.entries(plain.report!.accuracy)) expect(done.report!.accuracy[variant], variant).toBeCloseTo(accuracy, 6);
    for (const phase of ['float', 'qat'] as const) {
      const a = done.report!.train[phase].history.map((h) => h.loss);
      const b = plain.report!.train[phase].history.map((h) => h.loss);
      expect(a.length, phase).toBe(b.length);
      a.forEach((loss, i) => expect(loss, `${phase} epoch ${i + 1}`).toBeCloseTo(b[i]!, 6));
    }
  }, 360_000);
});

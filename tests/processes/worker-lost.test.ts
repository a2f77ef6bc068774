// A worker killed with SIGKILL mid-training: its training process stops with it, another worker's reaper
// notices the silence, queues a new attempt (after the retry backoff), trains it, and the job still
// SUCCEEDS — real processes, Postgres, Redis and HTTP.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { type QatProcess, startQat } from '../support/process.js';
import { dropQueueKeys } from '../support/queues.js';

const prefix = `qat-test-lost-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let t: TestApp;
let key: string;
const procs: QatProcess[] = [];
const auth = () => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  t = await buildTestApp({ QUEUE_PREFIX: prefix });
  key = await createKey(uniqueName('lost'));
});
afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await t.close();
  await dropQueueKeys(prefix);
});

const worker = () => {
  const p = startQat(['worker'], {
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    DATA_DIR: t.config.dataDir,
    QUEUE_PREFIX: prefix,
    JOB_HEARTBEAT_TIMEOUT_MS: '3000',
    JOB_RETRY_BACKOFF_MS: '500',
    LOG_LEVEL: 'info',
  });
  procs.push(p);
  return p;
};

async function job(id: string) {
  return (await t.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).json();
}

async function until(id: string, ok: (j: { status: string; attempt: number }) => boolean, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(id);
    if (ok(j) || Date.now() > end) return j;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a lost worker', () => {
  it('is detected by the heartbeat timeout; the job resumes as attempt 2 on another worker and succeeds', async () => {
    const f = new FormData();
    f.append('file', new Blob([await readFile('tests/fixtures/sklearn/wine_data.csv')]), 'wine.csv');
    f.append('skip_rows', '1');
    const dataset = (await t.app.inject({ method: 'POST', url: '/v1/datasets', headers: auth(), payload: f })).json();
    const model = (await t.app.inject({ method: 'POST', url: '/v1/models', headers: auth(), payload: { zoo: 'mlp' } })).json();
    const id = (await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(), payload: { dataset_id: dataset.id, model_id: model.id, config: { epochs: 150, batch_size: 16 } } })).json().id;

    const first = worker();
    await first.waitForLog(/^worker ready$/, 60_000);
    const running = await until(id, (j) => j.status === 'RUNNING', 30_000);
    expect(running.status).toBe('RUNNING');
    const trainingPid = (await first.waitForLog(/^training process started$/)).child_pid as number;
    first.child.kill('SIGKILL');
    await first.exited;

    const second = worker();
    await second.waitForLog(/^worker ready$/, 60_000);
    const done = await until(id, (j) => ['SUCCEEDED', 'FAILED'].includes(j.status), 90_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2, error: null });
    const moves = done.transitions.map((x: { to: string }) => x.to);
    expect(moves).toEqual(['QUEUED', 'PREPARING', 'RUNNING', 'QUEUED', 'PREPARING', 'RUNNING', 'SUCCEEDED']);
    expect(done.transitions[3].message).toMatch(/^WORKER_LOST: no heartbeat from worker .* retrying as attempt 2 in 0.5 s \(1 of 3 attempts failed\)$/);
    // The lost worker's training process did not outlive it (it would have kept the job beating).
    expect(() => process.kill(trainingPid, 0)).toThrow(/ESRCH/);
    expect(done.report.accuracy.float).toBeGreaterThan(0.85);
    expect(second.output()).toMatch(/took back jobs of lost workers/);
  }, 240_000);
});

// Commit order of a job's events (jobRepository, lockJobEvents): event ids come from one sequence at
// insert time, so without a lock a transaction holding a lower id could commit after one holding a higher
// id, and a reader that followed the higher id would never see the lower one. Here one transaction takes
// the job's event lock and inserts an event without committing; every repository writer of events for the
// same job must then wait for it, and get a higher id once it commits. Another job's writers do not wait.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { jobRepository, type JobRepository } from '../../src/db/jobRepository.js';
import { uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';

let db: Db;
let repo: JobRepository;
let holder: pg.Client;

async function newJob(): Promise<string> {
  const tenant = await db.tenant.create({ data: { name: uniqueName('event-order') } });
  const model = await db.model.create({ data: { tenantId: tenant.id, name: 'zoo:mlp', format: 'zoo', sha256: '0'.repeat(64), sizeBytes: 0n, params: 0n, layers: [], inputShape: [4], storageKey: 'models/x/' } });
  const dataset = await db.dataset.create({
    data: { tenantId: tenant.id, name: 'd', format: 'csv', task: 'classification', sha256: '1'.repeat(64), sizeBytes: 1n, samples: 10, features: 4, classes: 3, storageKey: 'datasets/x/' },
  });
  const { job } = await repo.create({ tenantId: tenant.id, modelId: model.id, datasetId: dataset.id, config: {} });
  await repo.transition(job.id, { to: 'PREPARING', from: ['QUEUED'] });
  await repo.transition(job.id, { to: 'RUNNING', from: ['PREPARING'] });
  return job.id;
}

/** Opens a transaction that holds `jobId`'s event lock (as every writer takes it) and has inserted one event. */
async function holdEventLock(jobId: string): Promise<bigint> {
  await holder.query('BEGIN');
  await holder.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [0x71a7, jobId]);
  const { rows } = await holder.query<{ id: string }>(`INSERT INTO job_events (job_id, type, data) VALUES ($1, 'held', '{}') RETURNING id`, [jobId]);
  return BigInt(rows[0]!.id);
}

/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(
    () => true,
    () => true,
  ), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

beforeAll(async () => {
  db = createDb(TEST_DATABASE_URL, { poolSize: 8 });
  repo = jobRepository(db);
  holder = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await holder.connect();
});
afterAll(async () => {
  await holder.end();
  await db.$disconnect();
});

describe("a job's events get ids in commit order", () => {
  it.each([
    ['recordProgress', (id: string) => repo.recordProgress(id, { epoch: 1, step: 5 })],
    ['insertMetrics', (id: string) => repo.insertMetrics(id, [{ name: 'float.loss', value: 0.5, step: 5, epoch: 1 }])],
    ['appendEvents', (id: string) => repo.appendEvents(id, [{ type: 'note', data: { n: 1 } }])],
    ['transition', (id: string) => repo.transition(id, { to: 'CANCELLING', from: ['RUNNING'], message: 'cancel requested' })],
  ])('%s waits for an open event transaction of the same job, then commits a higher id', async (_name, write) => {
    const jobId = await newJob();
    const other = await newJob();
    const heldId = await holdEventLock(jobId);
    try {
      const writing = write(jobId);
      // Blocked: it cannot take an id (let alone commit one) while the held transaction is open...
      expect(await settlesWithin(writing, 400)).toBe(false);
      // ...so a reader sees neither event yet, and cannot pass the held id.
      expect((await repo.eventsAfter(jobId, heldId - 1n, 100)).map((e) => e.type)).not.toContain('held');
      // Another job's events are not held up.
      expect(await settlesWithin(repo.recordProgress(other, { epoch: 1 }), 5000)).toBe(true);
      await holder.query('COMMIT');
      await writing;
    } catch (err) {
      await holder.query('ROLLBACK');
      throw err;
    }
    const events = await repo.eventsAfter(jobId, heldId - 1n, 100);
    expect(events[0]).toMatchObject({ id: heldId, type: 'held' });
    expect(events.length).toBeGreaterThan(1);
    for (const e of events.slice(1)) expect(e.id).toBeGreaterThan(heldId);
  });

  it('a follower polling by id never skips an event when writers of one job race', async () => {
    const jobId = await newJob();
    const seen: bigint[] = [];
    let cursor = (await repo.eventsAfter(jobId, 0n, 1000)).at(-1)!.id;
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 15; i++) {
          if (i % 2) await repo.recordProgress(jobId, { w, i });
          else await repo.insertMetrics(jobId, [{ name: `w${w}`, value: i, step: i, epoch: 1 }]);
        }
      })(),
    );
    let done = false;
    const all = Promise.all(writers).then(() => void (done = true));
    while (!done) {
      for (const e of await repo.eventsAfter(jobId, cursor, 1000)) {
        seen.push(e.id);
        cursor = e.id;
      }
    }
    await all;
    for (const e of await repo.eventsAfter(jobId, cursor, 1000)) seen.push(e.id);
    const stored = (await db.jobEvent.findMany({ where: { jobId, type: { in: ['progress', 'metric'] } }, orderBy: { id: 'asc' }, select: { id: true } })).map((r) => r.id);
    expect(seen).toEqual(stored);
  });
});

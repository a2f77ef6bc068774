// GET /v1/jobs/{id}/events over a real socket (the app listening on a port, read incrementally with
// node:http) against real Postgres: replay in order with ids, live events as a worker would write them
// (jobRepository.transition/recordProgress), `end` and close once terminal, resuming with Last-Event-ID,
// tenant isolation, and that a client leaving (or the server closing) stops the poller.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/client.js';
import { jobRepository, type JobRepository } from '../../src/db/jobRepository.js';
import { JobEventService, type JobStreamEvent } from '../../src/services/jobEvents.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';

let t: TestApp;
let db: Db;
let repo: JobRepository;
let base: string;
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

/** A tenant with a key, a model and a dataset row, and a job submitted through the API. */
async function tenantWithJob() {
  const name = uniqueName('job-events');
  const key = await createKey(name);
  const { id: tenantId } = await db.tenant.findUniqueOrThrow({ where: { name } });
  const model = await db.model.create({ data: { tenantId, name: 'zoo:mlp', format: 'zoo', sha256: '0'.repeat(64), sizeBytes: 0n, params: 0n, layers: [], inputShape: [13], storageKey: 'models/x' } });
  const dataset = await db.dataset.create({
    data: { tenantId, name: 'wine.csv', format: 'csv', task: 'classification', sha256: '1'.repeat(64), sizeBytes: 10n, samples: 178, features: 13, classes: 3, storageKey: 'datasets/x' },
  });
  const res = await t.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(key), payload: { model_id: model.id, dataset_id: dataset.id } });
  expect(res.statusCode).toBe(202);
  return { key, jobId: res.json().id as string };
}

interface Message {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
}

/** An SSE client on node:http that hands out messages as they arrive. */
function openStream(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; next(timeoutMs?: number): Promise<Message>; body(): Promise<string>; ended: Promise<void>; close(): void }>((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      let raw = '';
      const queue: Message[] = [];
      const waiters: ((m: Message | undefined) => void)[] = [];
      let done = false;
      const ended = new Promise<void>((r) => res.once('close', () => r()));
      void ended.then(() => {
        done = true;
        for (const w of waiters.splice(0)) w(undefined);
      });
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const m: Message = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) m.comment = line.slice(1).trim();
            else {
              const i = line.indexOf(':');
              const [field, value] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
              if (field === 'data') m.data = JSON.parse(value);
              else if (field === 'id' || field === 'event') m[field] = value;
            }
          }
          const w = waiters.shift();
          if (w) w(m);
          else queue.push(m);
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        ended,
        close: () => req.destroy(),
        body: () => ended.then(() => raw),
        next: (timeoutMs = 5000) =>
          new Promise<Message>((ok, fail) => {
            const m = queue.shift();
            if (m) return ok(m);
            if (done) return fail(new Error('stream ended'));
            const timer = setTimeout(() => fail(new Error(`no SSE message within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((got) => {
              clearTimeout(timer);
              if (got) ok(got);
              else fail(new Error('stream ended'));
            });
          }),
      });
    });
    req.on('error', reject);
  });
}

/** The next message that is not a comment. */
async function nextEvent(s: { next(timeoutMs?: number): Promise<Message> }): Promise<Message> {
  for (;;) {
    const m = await s.next();
    if (m.event) return m;
  }
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const toRunning = async (id: string) => {
  await repo.transition(id, { to: 'PREPARING', from: ['QUEUED'], message: 'picked up' });
  await repo.transition(id, { to: 'RUNNING', from: ['PREPARING'], phase: 'TRAINING_QAT' });
};

beforeAll(async () => {
  t = await buildTestApp();
  db = createDb(TEST_DATABASE_URL, { poolSize: 2 });
  repo = jobRepository(db);
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await db.$disconnect();
  await t.close();
});

describe('GET /v1/jobs/{id}/events', () => {
  let replayIds: string[] = [];
  let job: { key: string; jobId: string };

  it('replays recorded events in order with ids, follows live ones, then sends `end` and closes once SUCCEEDED', async () => {
    job = await tenantWithJob();
    const { key, jobId } = job;
    await toRunning(jobId);
    await repo.recordProgress(jobId, { epoch: 1, step: 10, loss: 0.5 });

    const s = await openStream(`${base}/v1/jobs/${jobId}/events`, auth(key));
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers['cache-control']).toMatch(/no-cache/);
    expect(s.headers['x-request-id']).toBeDefined();

    const replayed = [await nextEvent(s), await nextEvent(s), await nextEvent(s), await nextEvent(s)];
    expect(replayed).toEqual([
      { id: expect.any(String), event: 'transition', data: { from: null, to: 'QUEUED', phase: null, attempt: 1, message: 'submitted', at: expect.any(String) } },
      { id: expect.any(String), event: 'transition', data: { from: 'QUEUED', to: 'PREPARING', phase: null, attempt: 1, message: 'picked up', at: expect.any(String) } },
      { id: expect.any(String), event: 'transition', data: { from: 'PREPARING', to: 'RUNNING', phase: 'TRAINING_QAT', attempt: 1, at: expect.any(String) } },
      { id: expect.any(String), event: 'progress', data: { epoch: 1, step: 10, loss: 0.5, at: expect.any(String) } },
    ]);
    const ids = replayed.map((m) => BigInt(m.id!));
    expect([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    // The ids are the job_events ids.
    const rows = await db.jobEvent.findMany({ where: { jobId }, orderBy: { id: 'asc' }, select: { id: true } });
    expect(rows.map((r) => r.id.toString())).toEqual(replayed.map((m) => m.id));

    // Live: written after the stream opened, delivered by the poller.
    await repo.recordProgress(jobId, { epoch: 2, step: 20, loss: 0.25 }, 'EXPORTING');
    const live = await nextEvent(s);
    expect(live).toMatchObject({ event: 'progress', data: { epoch: 2, step: 20, phase: 'EXPORTING' } });
    expect(BigInt(live.id!)).toBeGreaterThan(ids[3]!);
    await repo.appendEvents(jobId, [{ type: 'metric', data: { name: 'val_accuracy', value: 0.93, epoch: 2 } }]);
    expect(await nextEvent(s)).toMatchObject({ event: 'metric', data: { name: 'val_accuracy', value: 0.93 } });

    await repo.transition(jobId, { to: 'SUCCEEDED', from: ['RUNNING'], report: { ok: true } });
    expect(await nextEvent(s)).toMatchObject({ event: 'transition', data: { from: 'RUNNING', to: 'SUCCEEDED' } });
    const end = await nextEvent(s);
    expect(end).toEqual({ event: 'end', data: { status: 'SUCCEEDED' } });
    await s.ended; // the server closed the stream
    await until(() => t.deps.jobEvents.activeStreams === 0);
    replayIds = (await db.jobEvent.findMany({ where: { jobId }, orderBy: { id: 'asc' }, select: { id: true } })).map((r) => r.id.toString());
    expect(replayIds).toHaveLength(7);
  });

  it('Last-Event-ID (header or last_event_id query) replays only later events; at the last id, only `end`', async () => {
    const { key, jobId } = job;
    const fromSecond = await openStream(`${base}/v1/jobs/${jobId}/events`, { ...auth(key), 'last-event-id': replayIds[1]! });
    const body = await fromSecond.body();
    const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);
    expect(ids).toEqual(replayIds.slice(2));
    expect(body.trimEnd().endsWith('event: end\ndata: {"status":"SUCCEEDED"}')).toBe(true);

    const byQuery = await (await openStream(`${base}/v1/jobs/${jobId}/events?last_event_id=${replayIds[4]}`, auth(key))).body();
    expect([...byQuery.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(replayIds.slice(5));

    const atEnd = await (await openStream(`${base}/v1/jobs/${jobId}/events`, { ...auth(key), 'last-event-id': replayIds[6]! })).body();
    expect(atEnd).not.toMatch(/^id:/m);
    expect(atEnd).toMatch(/event: end\ndata: \{"status":"SUCCEEDED"\}\n\n$/);
  });

  it("another tenant's job is 404 problem+json before streaming; no key is 401; a bad Last-Event-ID is 400", async () => {
    const other = await tenantWithJob();
    const cross = await fetch(`${base}/v1/jobs/${job.jobId}/events`, { headers: auth(other.key) });
    expect(cross.status).toBe(404);
    expect(cross.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await cross.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const unknown = await fetch(`${base}/v1/jobs/00000000-0000-4000-8000-000000000000/events`, { headers: auth(other.key) });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${base}/v1/jobs/${job.jobId}/events`)).status).toBe(401);
    const bad = await fetch(`${base}/v1/jobs/${job.jobId}/events`, { headers: { ...auth(job.key), 'last-event-id': 'abc' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown }).errors).toEqual([expect.objectContaining({ field: expect.stringMatching(/last-event-id/) })]);
    expect(t.deps.jobEvents.activeStreams).toBe(0);
  });

  it('metric points stored by a worker arrive as one `metric` event per batch, committed with the points', async () => {
    const { key, jobId } = await tenantWithJob();
    await toRunning(jobId);
    const s = await openStream(`${base}/v1/jobs/${jobId}/events`, auth(key));
    for (let i = 0; i < 3; i++) await nextEvent(s); // the three transitions
    await repo.insertMetrics(jobId, [
      { name: 'float.loss', value: 0.41, step: 12, epoch: 1 },
      { name: 'float.acc', value: 0.88, step: 12, epoch: 1 },
    ]);
    const metric = await nextEvent(s);
    expect(metric).toEqual({
      id: expect.any(String),
      event: 'metric',
      data: {
        epoch: 1,
        points: [
          { name: 'float.loss', value: 0.41, step: 12, epoch: 1, shard: null },
          { name: 'float.acc', value: 0.88, step: 12, epoch: 1, shard: null },
        ],
        at: expect.any(String),
      },
    });
    // Points of several epochs in one batch (a shard's catch-up): no common epoch.
    await repo.insertMetrics(jobId, [
      { name: 'qat.loss', value: 0.35, step: 30, epoch: 2, shard: 1 },
      { name: 'qat.loss', value: 0.3, step: 40, epoch: 3, shard: 1 },
    ]);
    const next = await nextEvent(s);
    expect(next.data).toEqual({ points: [{ name: 'qat.loss', value: 0.35, step: 30, epoch: 2, shard: 1 }, { name: 'qat.loss', value: 0.3, step: 40, epoch: 3, shard: 1 }], at: expect.any(String) });
    expect(BigInt(next.id!)).toBeGreaterThan(BigInt(metric.id!));
    // The same points as the metrics API.
    const series = await t.app.inject({ method: 'GET', url: `/v1/jobs/${jobId}/metrics`, headers: auth(key) });
    expect(series.statusCode).toBe(200);
    expect(JSON.stringify(series.json())).toMatch(/float\.loss/);
    s.close();
    await until(() => t.deps.jobEvents.activeStreams === 0);
  });

  it('a client that disconnects mid-stream stops its poller', async () => {
    const { key, jobId } = await tenantWithJob();
    await toRunning(jobId);
    const s = await openStream(`${base}/v1/jobs/${jobId}/events`, auth(key));
    expect(await nextEvent(s)).toMatchObject({ event: 'transition', data: { to: 'QUEUED' } });
    expect(t.deps.jobEvents.activeStreams).toBe(1);
    s.close();
    await until(() => t.deps.jobEvents.activeStreams === 0);
    // Still non-terminal, so only the disconnect can have stopped it.
    expect((await db.job.findUniqueOrThrow({ where: { id: jobId } })).status).toBe('RUNNING');
  });

  it('the service sends keep-alives while idle and stops, leaving no timer, when its signal aborts', async () => {
    const { jobId } = await tenantWithJob();
    const tenantId = (await db.job.findUniqueOrThrow({ where: { id: jobId } })).tenantId;
    let queries = 0;
    const counted: JobRepository = { ...repo, eventsAfter: (...a) => (queries++, repo.eventsAfter(...a)) };
    const service = new JobEventService({ jobs: counted, pollIntervalMs: 20, heartbeatMs: 100 });
    await expect(service.open('00000000-0000-4000-8000-000000000000', jobId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const stream = await service.open(tenantId, jobId);
    expect(stream.status).toBe('QUEUED');
    const seen: (JobStreamEvent | 'keep-alive')[] = [];
    const ac = new AbortController();
    const following = stream.follow({ event: (e) => void seen.push(e), heartbeat: () => void seen.push('keep-alive'), end: () => void seen.push('end' as never) }, ac.signal);
    await until(() => seen.filter((s) => s === 'keep-alive').length >= 2);
    expect(seen[0]).toMatchObject({ type: 'transition', data: { to: 'QUEUED' } });
    expect(service.activeStreams).toBe(1);
    ac.abort();
    await following;
    expect(service.activeStreams).toBe(0);
    const after = queries;
    await new Promise((r) => setTimeout(r, 150));
    expect(queries).toBe(after);
  });

  it('closing the server ends open streams instead of waiting for them', async () => {
    const other = await buildTestApp();
    try {
      const url = await other.app.listen({ port: 0, host: '127.0.0.1' });
      const { key, jobId } = await tenantWithJob();
      const s = await openStream(`${url}/v1/jobs/${jobId}/events`, auth(key));
      await nextEvent(s);
      expect(other.deps.jobEvents.activeStreams).toBe(1);
      await other.close();
      await s.ended;
      expect(other.deps.jobEvents.activeStreams).toBe(0);
    } finally {
      await other.close();
    }
  });
});

// Webhook deliveries end to end: the API's emit queues them, the worker process (production wiring)
// sends them to a receiver HTTP server in this test, which checks the Standard Webhooks signature with
// its own implementation written from the spec (https://www.standardwebhooks.com/), not the service's.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { webhookWorkerOptions } from '../../src/cli/runtime.js';
import { createDb, type Db, pingDb } from '../../src/db/client.js';
import { webhookRepository } from '../../src/db/webhookRepository.js';
import { DependencyUnavailableError } from '../../src/errors/index.js';
import { sign } from '../../src/services/webhookSignature.js';
import { WebhookDeliveryService, WebhookService } from '../../src/services/webhooks.js';
import type { Resolver } from '../../src/services/webhookUrl.js';
import { type RunningWorker, startWorkerProcess } from '../../src/workers/workerProcess.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { dropQueueKeys } from '../support/queues.js';

// ---- the receiver's side, from the spec ----------------------------------------------------------

/** base64(HMAC-SHA256(base64decode(secret without "whsec_"), "id.timestamp.body")). */
function expectedSignature(secret: string, id: string, timestamp: string, rawBody: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`, 'utf8').digest();
}

function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, rawBody: string, toleranceSeconds = 300): string | null {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return 'missing webhook-* headers';
  if (!/^\d+$/.test(timestamp)) return 'timestamp is not unix seconds';
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return 'timestamp outside tolerance';
  const expected = expectedSignature(secret, id, timestamp, rawBody);
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  }
  return 'no matching v1 signature';
}

interface Received {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** null when the signature verified, else why not. */
  problem: string | null;
}

/** Answers each path by a script of statuses (the last one repeats); 0 = hang past the timeout. */
class Receiver {
  readonly received: Received[] = [];
  readonly secrets = new Map<string, string>();
  readonly scripts = new Map<string, number[]>();
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const secret = this.secrets.get(path);
      this.received.push({ path, method: req.method ?? '', headers: req.headers, body, problem: secret ? verifyStandardWebhook(secret, req.headers, body) : 'no secret known' });
      const script = this.scripts.get(path) ?? [200];
      const n = this.received.filter((r) => r.path === path).length;
      const status = script[Math.min(n, script.length) - 1]!;
      if (status === 0) {
        setTimeout(() => res.writeHead(200).end('late'), 2_500).unref();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? `boom ${status}` : 'ok');
    });
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('the signature scheme', () => {
  // The test vector of the Standard Webhooks reference libraries.
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it("the receiver's implementation reproduces the published vector", () => {
    expect(`v1,${expectedSignature(vector.secret, vector.id, String(vector.timestamp), vector.body).toString('base64')}`).toBe(vector.signature);
  });

  it("the service's signer reproduces the published vector", () => {
    expect(sign(vector.secret, vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
  });
});

describe('deliveries through the worker process', () => {
  const prefix = `qat-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const receiver = new Receiver();
  let t: TestApp;
  let db: Db;
  let worker: RunningWorker;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    await receiver.start();
    t = await buildTestApp({
      QUEUE_PREFIX: prefix,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_BACKOFF_MS: '50',
      WEBHOOK_TIMEOUT_MS: '1000',
    });
    db = createDb(TEST_DATABASE_URL, { poolSize: 4 });
    worker = await startWorkerProcess(
      {
        redisUrl: TEST_REDIS_URL,
        queuePrefix: prefix,
        concurrency: 1,
        training: { backend: 'cpu', reason: 'test' },
        pingDatabase: () => pingDb(db),
        closeDatabase: () => db.$disconnect(),
        webhooks: webhookWorkerOptions(t.config, db),
      },
      pino({ level: 'silent' }),
    );
    key = await createKey(uniqueName('receiver'));
    tenantId = (await t.deps.apiKeys.authenticate(`Bearer ${key}`)).tenantId;
  });

  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    await receiver.close();
    await dropQueueKeys(prefix);
  });

  // Each test's webhooks are deleted after it, so an emit reaches only the test's own webhook.
  const created: string[] = [];
  afterEach(async () => {
    for (const id of created.splice(0)) await t.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: { authorization: `Bearer ${key}` } });
  });

  /** A webhook on its own receiver path (so tests do not see each other's requests). */
  async function subscribe(name: string, script: number[] = [200]): Promise<{ id: string; path: string }> {
    const path = `/${name}-${randomBytes(4).toString('hex')}`;
    receiver.scripts.set(path, script);
    const res = await t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${key}` }, payload: { url: receiver.url(path), events: ['job.succeeded', 'job.failed'] } });
    expect(res.statusCode).toBe(201);
    receiver.secrets.set(path, res.json().secret);
    created.push(res.json().id);
    return { id: res.json().id, path };
  }

  async function settled(webhookId: string, deliveryId: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/webhooks/${webhookId}/deliveries`, headers: { authorization: `Bearer ${key}` } });
      const d = (res.json().items as { id: string; status: string }[]).find((i) => i.id === deliveryId);
      if (d && d.status !== 'pending') return d as unknown as { status: string; delivered_at: string | null; attempts: { attempt: number; status_code: number | null; error: string | null; duration_ms: number; at: string }[] };
      if (Date.now() > deadline) throw new Error(`delivery ${deliveryId} still pending: ${JSON.stringify(d)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('sends a signed Standard Webhooks POST that an independent verifier accepts', async () => {
    const hook = await subscribe('ok');
    const [deliveryId, ...more] = await t.deps.webhooks.emit(tenantId, 'job.succeeded', { job_id: 'job-1', status: 'SUCCEEDED' });
    expect(more).toEqual([]);
    const d = await settled(hook.id, deliveryId!);

    expect(d.status).toBe('delivered');
    expect(d.delivered_at).toEqual(expect.any(String));
    expect(d.attempts).toEqual([{ attempt: 1, status_code: 200, error: null, duration_ms: expect.any(Number), at: expect.any(String) }]);

    const [req, ...others] = receiver.at(hook.path);
    expect(others).toEqual([]);
    expect(req!.problem).toBeNull();
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toBe(deliveryId);
    expect(req!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(Number(req!.headers['webhook-timestamp'])).toBe(Math.floor(Date.parse(d.attempts[0]!.at) / 1000));
    expect(req!.headers['user-agent']).toMatch(/^qat-service\//);
    expect(req!.headers.host).toBe(`127.0.0.1:${receiver.port}`);
    // minified JSON, keys in the documented order
    expect(req!.body).toMatch(/^\{"type":"job\.succeeded","timestamp":"[^"]+","data":\{/);
    const message = JSON.parse(req!.body);
    expect(message).toEqual({ type: 'job.succeeded', timestamp: expect.any(String), data: { job_id: 'job-1', status: 'SUCCEEDED' } });
    expect(new Date(message.timestamp).toISOString()).toBe(message.timestamp);
    // a tampered body or another secret does not verify
    expect(verifyStandardWebhook(receiver.secrets.get(hook.path)!, req!.headers, req!.body.replace('job-1', 'job-2'))).toBe('no matching v1 signature');
    expect(verifyStandardWebhook(`whsec_${randomBytes(32).toString('base64')}`, req!.headers, req!.body)).toBe('no matching v1 signature');
  });

  it('retries a receiver answering 500 twice: 3 attempts recorded, same webhook-id, delivered', async () => {
    const hook = await subscribe('flaky', [500, 500, 200]);
    const [deliveryId] = await t.deps.webhooks.emit(tenantId, 'job.failed', { job_id: 'job-2', status: 'FAILED', error: { code: 'BAD_DATA', message: 'x' } });
    const d = await settled(hook.id, deliveryId!);

    expect(d.status).toBe('delivered');
    expect(d.attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(d.attempts[0]!.error).toBe('HTTP 500: boom 500');
    expect(d.attempts[2]!.error).toBeNull();
    const reqs = receiver.at(hook.path);
    expect(reqs).toHaveLength(3);
    expect(new Set(reqs.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    expect(reqs.map((r) => r.problem)).toEqual([null, null, null]);
    expect(new Set(reqs.map((r) => r.body)).size).toBe(1); // the same message every time
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS failures: failed, every attempt listed', async () => {
    const hook = await subscribe('down', [503]);
    const [deliveryId] = await t.deps.webhooks.emit(tenantId, 'job.failed', { job_id: 'job-3' });
    const d = await settled(hook.id, deliveryId!);
    expect(d.status).toBe('failed');
    expect(d.delivered_at).toBeNull();
    expect(d.attempts.map((a) => a.status_code)).toEqual([503, 503, 503]);
    expect(receiver.at(hook.path)).toHaveLength(3);
  });

  it('stops at once on 410 Gone', async () => {
    const hook = await subscribe('gone', [410, 200]);
    const [deliveryId] = await t.deps.webhooks.emit(tenantId, 'job.succeeded', { job_id: 'job-4' });
    const d = await settled(hook.id, deliveryId!);
    expect(d.status).toBe('failed');
    expect(d.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: 410, error: 'HTTP 410: boom 410' })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.at(hook.path)).toHaveLength(1);
  });

  it('counts a receiver slower than WEBHOOK_TIMEOUT_MS as a failed attempt and retries', async () => {
    const hook = await subscribe('slow', [0, 200]);
    const [deliveryId] = await t.deps.webhooks.emit(tenantId, 'job.succeeded', { job_id: 'job-5' });
    const d = await settled(hook.id, deliveryId!);
    expect(d.status).toBe('delivered');
    expect(d.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: null, error: expect.stringMatching(/timed out after 1000 ms/) }),
      expect.objectContaining({ attempt: 2, status_code: 200, error: null }),
    ]);
    expect(d.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(950);
  });

  it('records a refused connection as a failed attempt', async () => {
    const path = `/nowhere-${randomBytes(4).toString('hex')}`;
    const { closedPort } = await import('../support/env.js');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: { authorization: `Bearer ${key}` },
      payload: { url: `http://127.0.0.1:${await closedPort()}${path}`, events: ['job.failed'] },
    });
    created.push(res.json().id);
    const [deliveryId] = await t.deps.webhooks.emit(tenantId, 'job.failed', { job_id: 'job-6' });
    const d = await settled(res.json().id, deliveryId!);
    expect(d.status).toBe('failed');
    expect(d.attempts).toHaveLength(3);
    expect(d.attempts[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});

describe('the delivery use case (custom DNS)', () => {
  const receiver = new Receiver();
  let db: Db;
  let t: TestApp;
  let tenantId: string;

  beforeAll(async () => {
    await receiver.start();
    db = createDb(TEST_DATABASE_URL, { poolSize: 2 });
    t = await buildTestApp();
  });
  // A tenant per test, so an emit reaches only the test's own webhook.
  beforeEach(async () => {
    tenantId = (await t.deps.apiKeys.authenticate(`Bearer ${await createKey(uniqueName('dns'))}`)).tenantId;
  });
  afterAll(async () => {
    await receiver.close();
    await t?.close();
    await db.$disconnect();
  });

  const resolveTo =
    (address: string): Resolver =>
    async () => [{ address, family: address.includes(':') ? 6 : 4 }];
  const noQueue = async () => undefined;

  it('connects to the address it checked, keeping the host name for Host', async () => {
    const path = '/pinned';
    const hooks = new WebhookService(webhookRepository(db), { allowPrivate: true, enqueue: noQueue, resolve: resolveTo('127.0.0.1') });
    const created = await hooks.create({ tenantId, keyId: 'test' }, { url: receiver.url(path, 'hooks.example.test'), events: ['job.started'] });
    receiver.secrets.set(path, created.secret);
    const [deliveryId] = await hooks.emit(tenantId, 'job.started', { job_id: 'j' });
    const deliveries = new WebhookDeliveryService(webhookRepository(db), { allowPrivate: true, timeoutMs: 2000, userAgent: 'test', resolve: resolveTo('127.0.0.1') });

    expect(await deliveries.deliver(deliveryId!, { final: false })).toEqual({ kind: 'delivered', attempt: 1, statusCode: 200 });
    const [req] = receiver.at(path);
    expect(req!.headers.host).toBe(`hooks.example.test:${receiver.port}`);
    expect(req!.problem).toBeNull();
    // settled: a duplicate job for it sends nothing
    expect(await deliveries.deliver(deliveryId!, { final: false })).toEqual({ kind: 'skipped', reason: 'the delivery is already delivered' });
    expect(receiver.at(path)).toHaveLength(1);
  });

  it('re-checks DNS at delivery time: a name rebound to loopback is refused and never called', async () => {
    const path = '/rebound';
    const hooks = new WebhookService(webhookRepository(db), { allowPrivate: false, enqueue: noQueue, resolve: resolveTo('93.184.215.14') });
    const created = await hooks.create({ tenantId, keyId: 'test' }, { url: receiver.url(path, 'rebind.example.test'), events: ['job.started'] });
    const [deliveryId] = await hooks.emit(tenantId, 'job.started', { job_id: 'j' });
    for (const [address, pattern] of [
      ['127.0.0.1', /resolves to 127\.0\.0\.1, a loopback address/],
      ['::ffff:169.254.169.254', /IPv4-mapped IPv6 form of 169\.254\.169\.254, a cloud metadata address/],
    ] as const) {
      const deliveries = new WebhookDeliveryService(webhookRepository(db), { allowPrivate: false, timeoutMs: 2000, userAgent: 'test', resolve: resolveTo(address) });
      const outcome = await deliveries.deliver(deliveryId!, { final: address !== '127.0.0.1' });
      expect(outcome).toMatchObject({ kind: address === '127.0.0.1' ? 'retry' : 'failed', reason: expect.stringMatching(pattern) });
    }
    expect(receiver.at(path)).toEqual([]);
    const page = await hooks.deliveries({ tenantId, keyId: 'test' }, created.id, { pageSize: 10 });
    expect(page.items[0]).toMatchObject({ status: 'failed', attempts: [{ attempt: 1, statusCode: null }, { attempt: 2, statusCode: null }] });
  });

  it('skips a delivery whose webhook was deleted', async () => {
    const hooks = new WebhookService(webhookRepository(db), { allowPrivate: true, enqueue: noQueue, resolve: resolveTo('127.0.0.1') });
    const created = await hooks.create({ tenantId, keyId: 'test' }, { url: receiver.url('/deleted'), events: ['job.queued'] });
    const [deliveryId] = await hooks.emit(tenantId, 'job.queued', { job_id: 'j' });
    await hooks.delete({ tenantId, keyId: 'test' }, created.id);
    const deliveries = new WebhookDeliveryService(webhookRepository(db), { allowPrivate: true, timeoutMs: 2000, userAgent: 'test' });
    expect(await deliveries.deliver(deliveryId!, { final: true })).toMatchObject({ kind: 'skipped' });
    expect(receiver.at('/deleted')).toEqual([]);
  });

  it('records deliveries Redis would not take as failed, and says so', async () => {
    const hooks = new WebhookService(webhookRepository(db), {
      allowPrivate: true,
      resolve: resolveTo('127.0.0.1'),
      enqueue: async () => {
        throw new Error('Connection is closed.');
      },
    });
    const created = await hooks.create({ tenantId, keyId: 'test' }, { url: receiver.url('/unqueued'), events: ['job.cancelled'] });
    await expect(hooks.emit(tenantId, 'job.cancelled', { job_id: 'j' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    const page = await hooks.deliveries({ tenantId, keyId: 'test' }, created.id, { pageSize: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({ status: 'failed', attempts: [expect.objectContaining({ attempt: 1, error: 'could not be queued: Connection is closed.' })] }),
    ]);
  });
});

// Webhook subscriptions over HTTP: creation rules (URL guard, events, secret), secrets shown once,
// tenant isolation, and the deliveries listing. Deliveries themselves: tests/workers/webhook-delivery.test.ts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { dropQueueKeys } from '../support/queues.js';

const auth = (k: string) => ({ authorization: `Bearer ${k}` });
const PUBLIC_URL = 'https://93.184.215.14/hooks/qat'; // an IP literal: no DNS needed, never called here

let open: TestApp; // WEBHOOK_ALLOW_PRIVATE=true
let strict: TestApp; // the production default: internal addresses refused
let key: string;
let otherKey: string;
const prefix = `qat-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  [open, strict, key, otherKey] = await Promise.all([
    buildTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', QUEUE_PREFIX: prefix }),
    buildTestApp({ WEBHOOK_ALLOW_PRIVATE: 'false', QUEUE_PREFIX: prefix }),
    createKey(uniqueName('hooks')),
    createKey(uniqueName('rival')),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), strict?.close()]);
  await dropQueueKeys(prefix);
});

async function create(t: TestApp, k: string, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/v1/webhooks', headers: auth(k), payload });
}

describe('creating a webhook', () => {
  it('answers 201 with a generated Standard Webhooks secret, shown once', async () => {
    const res = await create(strict, key, { url: PUBLIC_URL, events: ['job.succeeded', 'job.failed'] });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({ id: expect.any(String), url: PUBLIC_URL, events: ['job.succeeded', 'job.failed'], created_at: expect.any(String), secret: expect.any(String) });
    expect(res.headers.location).toBe(`/v1/webhooks/${body.id}`);
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(body.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);

    const one = await strict.app.inject({ method: 'GET', url: `/v1/webhooks/${body.id}`, headers: auth(key) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ id: body.id, url: PUBLIC_URL, events: ['job.succeeded', 'job.failed'], created_at: body.created_at });

    const list = await strict.app.inject({ method: 'GET', url: '/v1/webhooks', headers: auth(key) });
    expect(list.statusCode).toBe(200);
    const items = list.json().items as Record<string, unknown>[];
    expect(items.map((i) => i.id)).toContain(body.id);
    for (const item of items) expect(Object.keys(item).sort()).toEqual(['created_at', 'events', 'id', 'url']);
    expect(list.body).not.toContain(body.secret.slice('whsec_'.length));
    expect(one.body).not.toContain(body.secret.slice('whsec_'.length));
  });

  it('keeps a secret the caller gives in the whsec_ form', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const res = await create(strict, key, { url: PUBLIC_URL, events: ['*'], secret });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ events: ['*'], secret });
  });

  it('collapses a list containing * to just *', async () => {
    const res = await create(strict, key, { url: PUBLIC_URL, events: ['job.failed', '*'] });
    expect(res.statusCode).toBe(201);
    expect(res.json().events).toEqual(['*']);
  });

  it('names every refused field at once with 422', async () => {
    const res = await create(strict, key, { url: 'ftp://93.184.215.14/x', events: ['job.done', 'job.failed', 'job.failed'], secret: 'hunter2' });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: 422, code: 'INVALID_WEBHOOK' });
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { field: 'body.url', reason: expect.stringMatching(/http: or https:.*ftp:/) },
        { field: 'body.events.0', reason: expect.stringMatching(/unknown event 'job.done'/) },
        { field: 'body.events.2', reason: expect.stringMatching(/listed twice/) },
        { field: 'body.secret', reason: expect.stringMatching(/whsec_/) },
      ]),
    );
    expect(body.errors).toHaveLength(4);
  });

  it.each([
    ['no events', { events: [] }, 'body.events', /at least one event/],
    ['a secret without the prefix', { events: ['*'], secret: randomBytes(32).toString('base64') }, 'body.secret', /start with 'whsec_'/],
    ['a short secret', { events: ['*'], secret: `whsec_${randomBytes(16).toString('base64')}` }, 'body.secret', /24 to 64 bytes, got 16/],
    ['a secret that is not base64', { events: ['*'], secret: 'whsec_not*base64*at*all*but*long*enough*to*count' }, 'body.secret', /standard base64/],
    ['a base64url secret', { events: ['*'], secret: `whsec_${'_-'.repeat(20)}` }, 'body.secret', /standard base64/],
  ])('refuses %s with 422', async (_label, payload, field, reason) => {
    const res = await create(strict, key, { url: PUBLIC_URL, ...payload });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ field, reason: expect.stringMatching(reason) }]);
  });

  it('limits a tenant to 50 webhooks', async () => {
    const busy = await createKey(uniqueName('busy'));
    for (let i = 0; i < 50; i++) expect((await create(strict, busy, { url: `${PUBLIC_URL}/${i}`, events: ['*'] })).statusCode).toBe(201);
    const res = await create(strict, busy, { url: PUBLIC_URL, events: ['*'] });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'TOO_MANY_WEBHOOKS' });
  });

  it('refuses wrong shapes with 400 (schema)', async () => {
    const res = await create(strict, key, { events: { 'job.failed': true }, colour: 'red' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { field: 'body.url', reason: expect.any(String) },
        { field: 'body.events', reason: expect.any(String) },
        { field: 'body.colour', reason: 'is not a known property' },
      ]),
    );
  });
});

describe('URL guard (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  it.each([
    ['private 10/8', 'http://10.1.2.3/h', /10\.1\.2\.3 is a private address \(10\.0\.0\.0\/8\)/],
    ['private 172.16/12', 'http://172.20.0.5:8443/h', /private address \(172\.16\.0\.0\/12\)/],
    ['private 192.168/16', 'https://192.168.1.10/h', /private address \(192\.168\.0\.0\/16\)/],
    ['loopback', 'http://127.0.0.1:8080/h', /loopback address \(127\.0\.0\.0\/8\)/],
    ['loopback by name', 'http://localhost:8080/h', /host 'localhost' resolves to .*loopback/],
    ['loopback, hex form', 'http://0x7f000001/h', /127\.0\.0\.1 is a loopback/],
    ['loopback, decimal form', 'http://2130706433/h', /127\.0\.0\.1 is a loopback/],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/', /cloud metadata address/],
    ['link-local', 'http://169.254.7.7/h', /link-local address \(169\.254\.0\.0\/16\)/],
    ['CGNAT', 'http://100.64.0.1/h', /carrier-grade NAT/],
    ['unspecified', 'http://0.0.0.0:8080/h', /unspecified/],
    ['multicast', 'http://224.0.0.251/h', /multicast/],
    ['IPv6 loopback', 'http://[::1]:8080/h', /::1 is the loopback address/],
    ['IPv6 link-local', 'http://[fe80::1]/h', /link-local address \(fe80::\/10\)/],
    ['IPv6 unique local', 'http://[fd12:3456:789a::1]/h', /unique local/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/h', /IPv4-mapped IPv6 form of 127\.0\.0\.1, a loopback/],
    ['IPv4-mapped metadata', 'http://[::ffff:a9fe:a9fe]/h', /IPv4-mapped IPv6 form of 169\.254\.169\.254, a cloud metadata/],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/h', /IPv4-mapped IPv6 form of 10\.0\.0\.1, a private/],
    ['ftp:', 'ftp://93.184.215.14/h', /must use http: or https:, got 'ftp:'/],
    ['file:', 'file:///etc/passwd', /must use http: or https:/],
    ['userinfo', 'https://user:pass@93.184.215.14/h', /must not contain credentials/],
    ['user only', 'https://user@93.184.215.14/h', /must not contain credentials/],
    ['a relative URL', '/hooks', /absolute URL/],
  ])('refuses %s', async (_label, url, reason) => {
    const res = await create(strict, key, { url, events: ['job.failed'] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ field: 'body.url', reason: expect.stringMatching(reason) }]);
  });

  it('accepts a public address', async () => {
    expect((await create(strict, key, { url: 'http://[2606:4700:4700::1111]:8080/h', events: ['job.failed'] })).statusCode).toBe(201);
    expect((await create(strict, key, { url: 'http://[::ffff:8.8.8.8]/h', events: ['job.failed'] })).statusCode).toBe(201);
  });

  it('with WEBHOOK_ALLOW_PRIVATE=true internal addresses pass, metadata and multicast never do', async () => {
    for (const url of ['http://127.0.0.1:9/h', 'http://localhost:9/h', 'http://10.0.0.1/h', 'http://[::1]:9/h', 'http://[::ffff:192.168.0.1]/h']) {
      expect((await create(open, key, { url, events: ['*'] })).statusCode, url).toBe(201);
    }
    for (const url of ['http://169.254.169.254/', 'http://[::ffff:169.254.169.254]/', 'http://224.0.0.1/', 'http://0.0.0.0/', 'https://u:p@127.0.0.1/']) {
      expect((await create(open, key, { url, events: ['*'] })).statusCode, url).toBe(422);
    }
  });
});

describe('tenant isolation and deletion', () => {
  it("answers another tenant's webhook id with 404 on every route, and lists only one's own", async () => {
    const mine = (await create(strict, key, { url: PUBLIC_URL, events: ['*'] })).json();
    for (const [method, url] of [
      ['GET', `/v1/webhooks/${mine.id}`],
      ['GET', `/v1/webhooks/${mine.id}/deliveries`],
      ['DELETE', `/v1/webhooks/${mine.id}`],
    ] as const) {
      const res = await strict.app.inject({ method, url, headers: auth(otherKey) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    const theirs = await strict.app.inject({ method: 'GET', url: '/v1/webhooks', headers: auth(otherKey) });
    expect(theirs.json().items.map((i: { id: string }) => i.id)).not.toContain(mine.id);
    // still there for its owner
    expect((await strict.app.inject({ method: 'GET', url: `/v1/webhooks/${mine.id}`, headers: auth(key) })).statusCode).toBe(200);
  });

  it('deletes with 204, then answers 404', async () => {
    const { id } = (await create(strict, key, { url: PUBLIC_URL, events: ['job.queued'] })).json();
    expect((await strict.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: auth(key) })).statusCode).toBe(204);
    expect((await strict.app.inject({ method: 'GET', url: `/v1/webhooks/${id}`, headers: auth(key) })).statusCode).toBe(404);
    expect((await strict.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: auth(key) })).statusCode).toBe(404);
  });

  it('requires a key and a uuid', async () => {
    expect((await strict.app.inject({ method: 'GET', url: '/v1/webhooks' })).statusCode).toBe(401);
    const bad = await strict.app.inject({ method: 'GET', url: '/v1/webhooks/nope', headers: auth(key) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ field: 'params.id', reason: expect.stringMatching(/uuid/) }]);
  });
});

describe('emit and the deliveries listing', () => {
  it('creates one delivery per subscribed webhook of the tenant only, listed newest first in pages', async () => {
    const tenantKey = await createKey(uniqueName('emitter'));
    const principal = await open.deps.apiKeys.authenticate(`Bearer ${tenantKey}`);
    const rival = await open.deps.apiKeys.authenticate(`Bearer ${otherKey}`);
    const all = (await create(open, tenantKey, { url: 'http://127.0.0.1:9/all', events: ['*'] })).json();
    const failedOnly = (await create(open, tenantKey, { url: 'http://127.0.0.1:9/failed', events: ['job.failed'] })).json();
    const rivalHook = (await create(open, otherKey, { url: 'http://127.0.0.1:9/rival', events: ['*'] })).json();

    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(...(await open.deps.webhooks.emit(principal.tenantId, 'job.succeeded', { job_id: `job-${n}`, status: 'SUCCEEDED' })));
    expect(ids).toHaveLength(3); // only `all`: `failedOnly` is not subscribed, the rival is another tenant
    expect(await open.deps.webhooks.emit(rival.tenantId, 'job.started', { job_id: 'x' })).toHaveLength(1);

    const first = await open.app.inject({ method: 'GET', url: `/v1/webhooks/${all.id}/deliveries?page_size=2`, headers: auth(tenantKey) });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1.items.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    expect(page1.items[0]).toEqual({
      id: ids[2],
      event: 'job.succeeded',
      status: 'pending',
      payload: { type: 'job.succeeded', timestamp: expect.any(String), data: { job_id: 'job-3', status: 'SUCCEEDED' } },
      created_at: expect.any(String),
      delivered_at: null,
      attempts: [],
    });
    expect(page1.next_page_token).toEqual(expect.any(String));
    const second = await open.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${all.id}/deliveries?page_size=2&page_token=${encodeURIComponent(page1.next_page_token)}`,
      headers: auth(tenantKey),
    });
    expect(second.json().items.map((d: { id: string }) => d.id)).toEqual([ids[0]]);
    expect(second.json().next_page_token).toBeNull();

    const none = await open.app.inject({ method: 'GET', url: `/v1/webhooks/${failedOnly.id}/deliveries`, headers: auth(tenantKey) });
    expect(none.json()).toEqual({ items: [], next_page_token: null });
    const rivals = await open.app.inject({ method: 'GET', url: `/v1/webhooks/${rivalHook.id}/deliveries`, headers: auth(otherKey) });
    expect(rivals.json().items).toHaveLength(1);

    const badToken = await open.app.inject({ method: 'GET', url: `/v1/webhooks/${all.id}/deliveries?page_token=garbage`, headers: auth(tenantKey) });
    expect(badToken.statusCode).toBe(422);
    expect(badToken.json().errors).toEqual([{ field: 'query.page_token', reason: expect.any(String) }]);
  });

  it('emits nothing (and touches no queue) when nobody listens', async () => {
    const lonely = await createKey(uniqueName('lonely'));
    const principal = await strict.deps.apiKeys.authenticate(`Bearer ${lonely}`);
    expect(await strict.deps.webhooks.emit(principal.tenantId, 'job.failed', { job_id: 'j' })).toEqual([]);
  });
});

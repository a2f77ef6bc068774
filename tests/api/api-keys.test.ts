import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';

let t: TestApp;
let key: string;
let otherKey: string;
const auth = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  t = await buildTestApp({ BODY_LIMIT: '2kb' });
  key = await createKey(uniqueName('acme'));
  otherKey = await createKey(uniqueName('globex'));
});
afterAll(async () => t.close());

describe('authentication', () => {
  it.each([
    ['no header', {}],
    ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['malformed key', { authorization: 'Bearer qat_nope' }],
    ['unknown prefix', { authorization: 'Bearer qat_000000000000_' + 'A'.repeat(43) }],
  ])('refuses %s with 401 problem+json and a challenge', async (_label, headers) => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('refuses a known prefix with the wrong secret', async () => {
    const forged = key.slice(0, key.lastIndexOf('_') + 1) + 'B'.repeat(43);
    const res = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(forged) });
    expect(res.statusCode).toBe(401);
  });
});

describe('API keys', () => {
  it('creates a key that works, lists it, and revokes it', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(key), payload: { name: 'ci pipeline' } });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.key).toMatch(/^qat_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.headers.location).toBe(`/v1/api-keys/${body.id}`);

    const list = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(body.key) });
    expect(list.statusCode).toBe(200);
    const items = list.json().items as { id: string; name: string; prefix: string }[];
    expect(items.map((i) => i.id)).toContain(body.id);
    expect(JSON.stringify(items)).not.toContain(body.key.slice('qat_'.length + 13));

    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${body.id}`, headers: auth(key) });
    expect(revoke.statusCode).toBe(204);
    const after = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(body.key) });
    expect(after.statusCode).toBe(401);
  });

  it("answers another tenant's key id with 404, not 403", async () => {
    const mine = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(key), payload: {} })).json();
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${mine.id}`, headers: auth(otherKey) });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    const list = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(otherKey) });
    expect(list.json().items.map((i: { id: string }) => i.id)).not.toContain(mine.id);
  });
});

describe('invalid requests', () => {
  it('names every invalid field of a body', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(key), payload: { name: '', colour: 'red' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body.code).toBe('INVALID_REQUEST');
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { field: 'body.name', reason: expect.stringMatching(/fewer than 1/) },
        { field: 'body.colour', reason: 'is not a known property' },
      ]),
    );
  });

  it('names a malformed path parameter', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/api-keys/not-a-uuid', headers: auth(key) });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'params.id', reason: expect.stringMatching(/uuid/) }]);
  });

  it('rejects unparsable JSON with 400', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { ...auth(key), 'content-type': 'application/json' }, payload: '{"name":' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('rejects an unsupported media type with 415', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { ...auth(key), 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('rejects a body over BODY_LIMIT with 413 and stores nothing', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(key) })).json().items.length;
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(key), payload: { name: 'x'.repeat(4096) } });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const after = (await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(key) })).json().items.length;
    expect(after).toBe(before);
  });
});

describe('database outage', () => {
  it('answers 503 problem+json naming Postgres, not 500', async () => {
    const { closedPort } = await import('../support/env.js');
    const down = await buildTestApp({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/qat` });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(key) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', detail: expect.stringMatching(/^postgres: /) });
    } finally {
      await down.close();
    }
  });
});

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyRepository } from '../../src/db/apiKeyRepository.js';
import { ApiKeyService } from '../../src/services/apiKeys.js';
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

describe('cache of verified keys (ApiKeyService)', () => {
  // A repository that counts lookups, over one stored key; revocation and the clock are the test's.
  function fixture(ttlMs: number) {
    const secret = 'S'.repeat(43);
    const stored = {
      id: 'key-1',
      tenantId: 'tenant-1',
      prefix: 'abcdef012345',
      secretHash: createHash('sha256').update(secret).digest('hex'),
      name: null,
      createdAt: new Date(),
      lastUsedAt: new Date(),
      revokedAt: null as Date | null,
    };
    let lookups = 0;
    let now = 1_000_000;
    const repo = {
      findByPrefix: async (prefix: string) => (lookups++, prefix === stored.prefix ? { ...stored } : null),
      revoke: async () => ((stored.revokedAt = new Date()), true),
      touch: async () => undefined,
    } as unknown as ApiKeyRepository;
    const service = new ApiKeyService(repo, { cacheTtlMs: ttlMs, now: () => now });
    return { service, header: `Bearer qat_${stored.prefix}_${secret}`, stored, lookups: () => lookups, advance: (ms: number) => void (now += ms) };
  }

  it('answers a key verified within the TTL without a lookup, and looks it up again after', async () => {
    const f = fixture(2000);
    expect(f.service.cached(f.header)).toBeUndefined();
    expect(await f.service.authenticate(f.header)).toEqual({ tenantId: 'tenant-1', keyId: 'key-1' });
    expect(f.service.cached(f.header)).toEqual({ tenantId: 'tenant-1', keyId: 'key-1' });
    await f.service.authenticate(f.header);
    expect(f.lookups()).toBe(1);
    f.advance(2001);
    expect(f.service.cached(f.header)).toBeUndefined();
    await f.service.authenticate(f.header);
    expect(f.lookups()).toBe(2);
  });

  it('never serves a wrong secret from the cache, and caches no failure', async () => {
    const f = fixture(2000);
    await f.service.authenticate(f.header);
    const forged = f.header.slice(0, -1) + 'T';
    expect(f.service.cached(forged)).toBeUndefined();
    await expect(f.service.authenticate(forged)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(f.service.authenticate(forged)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(f.lookups()).toBe(3);
  });

  it('forgets a key revoked through this process at once; one revoked elsewhere stops working within the TTL', async () => {
    const here = fixture(2000);
    await here.service.authenticate(here.header);
    await here.service.revoke({ tenantId: 'tenant-1', keyId: 'key-1' }, 'key-1');
    expect(here.service.cached(here.header)).toBeUndefined();
    await expect(here.service.authenticate(here.header)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    const elsewhere = fixture(2000);
    await elsewhere.service.authenticate(elsewhere.header);
    elsewhere.stored.revokedAt = new Date(); // another API process revoked it
    expect(await elsewhere.service.authenticate(elsewhere.header)).toMatchObject({ keyId: 'key-1' });
    elsewhere.advance(2001);
    await expect(elsewhere.service.authenticate(elsewhere.header)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('is off with a TTL of 0', async () => {
    const f = fixture(0);
    await f.service.authenticate(f.header);
    await f.service.authenticate(f.header);
    expect(f.service.cached(f.header)).toBeUndefined();
    expect(f.lookups()).toBe(2);
  });
});

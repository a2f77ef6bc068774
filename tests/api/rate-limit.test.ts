// Per-API-key rate limit on /v1 (real Redis): a small budget, the N+1th request answered 429
// problem+json with Retry-After, other keys unaffected, the window resetting, and failing open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { closedPort } from '../support/env.js';

const MAX = 3;
const WINDOW_MS = 1500;
const auth = (k: string) => ({ authorization: `Bearer ${k}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestApp;
let prefix: string;
beforeAll(async () => {
  prefix = uniqueName('qat-rl');
  t = await buildTestApp({ RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), QUEUE_PREFIX: prefix });
});
afterAll(async () => t.close());

const list = (app: TestApp, key: string) => app.app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth(key) });

describe('rate limit per API key', () => {
  it('answers the N+1th request in a window with 429 problem+json, Retry-After and the RateLimit headers', async () => {
    const key = await createKey(uniqueName('rl-acme'));
    for (let i = 1; i <= MAX; i++) {
      const res = await list(t, key);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe(String(MAX));
      expect(res.headers['x-ratelimit-remaining']).toBe(String(MAX - i));
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    }
    const limited = await list(t, key);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', title: 'Too Many Requests', instance: '/v1/api-keys' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
    expect(limited.headers['x-ratelimit-limit']).toBe(String(MAX));
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-ratelimit-reset']).toBe(String(retryAfter));
    expect(limited.headers['x-request-id']).toBeTruthy();
  });

  it("gives every key its own budget: another tenant's key is unaffected", async () => {
    const key = await createKey(uniqueName('rl-busy'));
    const other = await createKey(uniqueName('rl-quiet'));
    for (let i = 0; i <= MAX; i++) await list(t, key);
    expect((await list(t, key)).statusCode).toBe(429);
    const res = await list(t, other);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe(String(MAX - 1));
  });

  it('stays exact under concurrent requests of one key (increments batched per round trip)', async () => {
    const app = await buildTestApp({ RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '5000', QUEUE_PREFIX: uniqueName('qat-rl-burst') });
    try {
      const key = await createKey(uniqueName('rl-burst'));
      await list(app, key); // verified and cached: the burst below is all rate-limit work
      const burst = await Promise.all(Array.from({ length: 12 }, () => list(app, key)));
      expect(burst.filter((r) => r.statusCode === 200)).toHaveLength(4);
      expect(burst.filter((r) => r.statusCode === 429)).toHaveLength(8);
      const remaining = burst.filter((r) => r.statusCode === 200).map((r) => Number(r.headers['x-ratelimit-remaining']));
      expect(remaining.sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await app.close();
    }
  });

  it('resets when the window ends', async () => {
    const key = await createKey(uniqueName('rl-reset'));
    for (let i = 0; i < MAX; i++) expect((await list(t, key)).statusCode).toBe(200);
    expect((await list(t, key)).statusCode).toBe(429);
    await sleep(WINDOW_MS + 200);
    const res = await list(t, key);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe(String(MAX - 1));
  });

  it('shares one budget across API processes (the counters live in Redis)', async () => {
    const second = await buildTestApp({ RATE_LIMIT_MAX: String(MAX), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), QUEUE_PREFIX: prefix });
    try {
      const key = await createKey(uniqueName('rl-shared'));
      for (let i = 0; i < MAX; i++) expect((await list(i % 2 ? second : t, key)).statusCode).toBe(200);
      expect((await list(second, key)).statusCode).toBe(429);
      expect((await list(t, key)).statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });

  it('answers requests without a valid key 401 and counts nothing for them', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { authorization: 'Bearer nope' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('does not limit health, readiness, metrics or docs', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      for (let i = 0; i <= MAX; i++) {
        const res = await t.app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['x-ratelimit-limit'], url).toBeUndefined();
      }
    }
  });

  it('documents 429 on the limited routes of the OpenAPI document', () => {
    const doc = t.app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.paths['/v1/api-keys']!.get!.responses).toHaveProperty('429');
    expect(doc.paths['/v1/api-keys/{id}']!.delete!.responses).toHaveProperty('429');
    expect(doc.paths['/healthz']!.get!.responses).not.toHaveProperty('429');
  });

  it('fails open while Redis is down: requests pass, none is refused', async () => {
    const down = await buildTestApp({ RATE_LIMIT_MAX: String(MAX), REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    try {
      const key = await createKey(uniqueName('rl-open'));
      for (let i = 0; i <= MAX + 1; i++) {
        const started = Date.now();
        const res = await list(down, key);
        expect(res.statusCode).toBe(200);
        expect(Date.now() - started).toBeLessThan(1500);
      }
    } finally {
      await down.close();
    }
  });

  it('is off with RATE_LIMIT_MAX=0', async () => {
    const off = await buildTestApp({ RATE_LIMIT_MAX: '0' });
    try {
      const res = await list(off, await createKey(uniqueName('rl-off')));
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('failed authentication per client address', () => {
  const FAILS = 3;
  const FAIL_WINDOW_MS = 1500;
  const bad = { authorization: `Bearer qat_000000000000_${'A'.repeat(43)}` };
  const from = (app: TestApp, remoteAddress: string, headers: Record<string, string>) => app.app.inject({ method: 'GET', url: '/v1/api-keys', headers, remoteAddress });
  const limited = (env: Record<string, string> = {}) =>
    buildTestApp({ AUTH_FAILURE_MAX: String(FAILS), AUTH_FAILURE_WINDOW_MS: String(FAIL_WINDOW_MS), QUEUE_PREFIX: uniqueName('qat-af'), ...env });

  it('answers 401 up to the budget, then 429 problem+json with Retry-After for every request from that address until the window ends', async () => {
    const app = await limited();
    try {
      const key = await createKey(uniqueName('af-victim'));
      for (let i = 0; i < FAILS; i++) expect((await from(app, '198.51.100.7', i % 2 ? bad : {})).statusCode).toBe(401);
      const refused = await from(app, '198.51.100.7', bad);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', detail: expect.stringMatching(/missing or invalid API key from this address/) });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(FAIL_WINDOW_MS / 1000));
      // Over the budget the key is not even looked at: a right guess gets the same 429.
      expect((await from(app, '198.51.100.7', auth(key))).statusCode).toBe(429);
      // Other addresses are unaffected.
      expect((await from(app, '198.51.100.8', auth(key))).statusCode).toBe(200);
      expect((await from(app, '198.51.100.9', bad)).statusCode).toBe(401);
      await sleep(FAIL_WINDOW_MS + 200);
      expect((await from(app, '198.51.100.7', bad)).statusCode).toBe(401);
      expect((await from(app, '198.51.100.7', auth(key))).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('shares the budget across API processes (Redis) and fails open while Redis is down', async () => {
    const prefix = uniqueName('qat-af-shared');
    const [a, b] = [await limited({ QUEUE_PREFIX: prefix }), await limited({ QUEUE_PREFIX: prefix })];
    const down = await limited({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    try {
      for (let i = 0; i < FAILS; i++) expect((await from(i % 2 ? a : b, '203.0.113.5', bad)).statusCode).toBe(401);
      expect((await from(a, '203.0.113.5', bad)).statusCode).toBe(429);
      expect((await from(b, '203.0.113.5', bad)).statusCode).toBe(429);
      for (let i = 0; i <= FAILS + 1; i++) expect((await from(down, '203.0.113.5', bad)).statusCode).toBe(401);
    } finally {
      await Promise.all([a.close(), b.close(), down.close()]);
    }
  });

  it('counts the forwarded client behind a trusted proxy (TRUST_PROXY), and ignores X-Forwarded-For from anyone else', async () => {
    const app = await limited({ TRUST_PROXY: '10.0.0.0/8' });
    const direct = await limited();
    const via = (client: string) => ({ ...bad, 'x-forwarded-for': client });
    try {
      for (let i = 0; i < FAILS; i++) expect((await from(app, '10.0.0.1', via('198.51.100.20'))).statusCode).toBe(401);
      expect((await from(app, '10.0.0.2', via('198.51.100.20'))).statusCode).toBe(429);
      // The proxy itself, and the other clients behind it, keep their own budgets.
      expect((await from(app, '10.0.0.1', via('198.51.100.21'))).statusCode).toBe(401);
      // An untrusted sender cannot pick the address it is counted as (nor spend someone else's budget).
      for (let i = 0; i < FAILS; i++) expect((await from(app, '203.0.113.9', via('198.51.100.22'))).statusCode).toBe(401);
      expect((await from(app, '203.0.113.9', via('198.51.100.23'))).statusCode).toBe(429);
      expect((await from(app, '10.0.0.1', via('198.51.100.22'))).statusCode).toBe(401);
      // Without TRUST_PROXY every client behind one proxy shares the proxy's budget.
      for (let i = 0; i < FAILS; i++) expect((await from(direct, '10.0.0.1', via(`198.51.100.${30 + i}`))).statusCode).toBe(401);
      expect((await from(direct, '10.0.0.1', via('198.51.100.40'))).statusCode).toBe(429);
    } finally {
      await Promise.all([app.close(), direct.close()]);
    }
  });

  it('is off with AUTH_FAILURE_MAX=0', async () => {
    const off = await limited({ AUTH_FAILURE_MAX: '0' });
    try {
      for (let i = 0; i <= FAILS + 1; i++) expect((await from(off, '192.0.2.1', bad)).statusCode).toBe(401);
    } finally {
      await off.close();
    }
  });
});

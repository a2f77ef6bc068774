// Bull Board at /admin/queues (real Redis): absent without ADMIN_API_KEY; with it, bearer or HTTP
// basic (key as password) opens it, anything else is 401 problem+json; it lists the service's queues
// and refuses to change them (read-only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { QUEUE_NAMES } from '../../src/queue/names.js';
import { buildTestApp, createKey, type TestApp, uniqueName } from '../support/app.js';
import { dropQueueKeys } from '../support/queues.js';

const ADMIN_KEY = 'board-admin-key-0123456789abcdef';
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

let t: TestApp;
const prefix = uniqueName('qat-board');
beforeAll(async () => {
  t = await buildTestApp({ ADMIN_API_KEY: ADMIN_KEY, QUEUE_PREFIX: prefix });
});
afterAll(async () => {
  await t.close();
  await dropQueueKeys(prefix);
});

describe('Bull Board', () => {
  it('is not mounted without ADMIN_API_KEY (404)', async () => {
    const plain = await buildTestApp();
    try {
      const res = await plain.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(ADMIN_KEY) });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    } finally {
      await plain.close();
    }
  });

  it.each([
    ['no credentials', {}],
    ['a wrong bearer token', bearer(`${ADMIN_KEY}x`)],
    ['a prefix of the key', bearer(ADMIN_KEY.slice(0, -1))],
    ['basic with a wrong password', basic('admin', 'nope')],
    ['basic with the key as user name', basic(ADMIN_KEY, '')],
    ['another scheme', { authorization: `Token ${ADMIN_KEY}` }],
  ])('refuses %s with 401 problem+json and Basic/Bearer challenges', async (_label, headers) => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const res = await t.app.inject({ method: 'GET', url, headers });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toEqual(expect.arrayContaining([expect.stringMatching(/^Basic realm=/), expect.stringMatching(/^Bearer realm=/)]));
    }
  });

  it("refuses a tenant's API key", async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(await createKey(uniqueName('board'))) });
    expect(res.statusCode).toBe(401);
  });

  it('opens with the admin key as bearer token or as HTTP basic password', async () => {
    for (const headers of [bearer(ADMIN_KEY), basic('admin', ADMIN_KEY), basic('', ADMIN_KEY)]) {
      const res = await t.app.inject({ method: 'GET', url: '/admin/queues', headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<base href="/admin/queues/"');
    }
    const asset = await t.app.inject({ method: 'GET', url: '/admin/queues/static/favicon-32x32.png', headers: basic('admin', ADMIN_KEY) });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('image/png');
  });

  it('lists the queues of src/queue/names.ts', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(200);
    const names = (res.json().queues as { name: string; readOnlyMode: boolean }[]).map((q) => q.name).sort();
    expect(names).toEqual(Object.values(QUEUE_NAMES).sort());
    expect(res.json().queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
  });

  it('is read-only: BullMQ state is changed through the API, never the board', async () => {
    const res = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUE_NAMES.train}/pause`, headers: bearer(ADMIN_KEY) });
    expect(res.statusCode).toBe(405);
  });

  it('refuses a weak ADMIN_API_KEY at start-up without echoing it', () => {
    for (const weak of ['short-key', 'has spaces in it 0123456789']) {
      const result = parseConfig({ ADMIN_API_KEY: weak });
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).toContain('ADMIN_API_KEY');
      expect(JSON.stringify(result)).not.toContain(weak);
    }
    const unset = parseConfig({ ADMIN_API_KEY: '' });
    expect(unset.ok && unset.config.adminApiKey).toBeNull();
  });

  it('is not part of the OpenAPI document', () => {
    const paths = Object.keys((t.app.swagger() as { paths: Record<string, unknown> }).paths);
    expect(paths.filter((p) => p.startsWith('/admin'))).toEqual([]);
  });
});
